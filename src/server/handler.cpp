#include "server/handler.hpp"

#include "routing/header_policy.hpp"
#include "routing/router.hpp"
#include "routing/target.hpp"
#include "server/cors.hpp"
#include "server/pages.hpp"
#include "util/ids.hpp"
#include "util/strings.hpp"

namespace llmgw::server {
namespace {

Reply json_reply(const config::Config& config, const Headers& request, std::string_view request_id,
                 int status, std::string body) {
    Reply r;
    r.status = status;
    r.headers.add("Content-Type", "application/json");
    r.headers.add("X-Request-Id", request_id);
    r.headers.add("X-Gateway-Request-Id", request_id);
    add_cors_headers(r.headers, config.gateway.allowed_origin, request);
    r.body = std::move(body);
    return r;
}

HandlerResult error_result(const HandlerContext& ctx, const IncomingRequest& req, std::string id,
                           ErrorType type, std::string message) {
    HandlerResult result;
    result.error_type = std::string(to_string(type));
    result.action = error_reply(*ctx.config, *req.headers, id, type, message);
    result.request_id = std::move(id);
    return result;
}

}  // namespace

std::string choose_request_id(const Headers& request) {
    // One pass over the fields; the first valid one in this order of names wins.
    std::optional<std::string_view> found[3];
    for (const HeaderField f : request) {
        const std::size_t n = f.name.size();
        const int which = n == 12 && str::iequals(f.name, "x-request-id")       ? 0
                          : n == 16 && str::iequals(f.name, "x-correlation-id") ? 1
                          : n == 10 && str::iequals(f.name, "x-trace-id")       ? 2
                                                                                : -1;
        if (which >= 0 && !found[which]) found[which] = f.value;
    }
    for (const auto& v : found) {
        if (v && is_valid_request_id(*v)) return std::string(*v);
    }
    return new_uuid_v4();
}

Reply error_reply(const config::Config& config, const Headers& request, std::string_view request_id,
                  ErrorType type, std::string_view message, int status) {
    if (status == 0) status = http_status(type);
    return json_reply(config, request, request_id, status,
                      error_body(GatewayError{type, std::string(message)}, request_id, status));
}

HandlerResult handle_request(const HandlerContext& ctx, const IncomingRequest& req) {
    const config::Config& config = *ctx.config;
    const Headers& headers = *req.headers;
    std::string id = choose_request_id(headers);

    if (req.method == "OPTIONS") {
        HandlerResult result;
        Reply r;
        r.status = 204;
        r.headers = preflight_headers(config.gateway.allowed_origin, headers);
        r.headers.add("X-Request-Id", id);
        r.headers.add("X-Gateway-Request-Id", id);
        result.action = std::move(r);
        result.request_id = std::move(id);
        return result;
    }

    const auto target = routing::parse_target(req.target);
    if (!target) {
        return error_result(ctx, req, std::move(id), ErrorType::bad_request,
                            "Invalid path: " + target.error().reason);
    }
    const bool read_only = req.method == "GET" || req.method == "HEAD";
    switch (target->kind) {
        case routing::TargetKind::health:
        case routing::TargetKind::root: {
            if (!read_only) break;
            HandlerResult result;
            Reply r =
                target->kind == routing::TargetKind::health
                    ? health_page(ctx.started)
                    : welcome_page(headers.get("Host").value_or(ctx.address), ctx.address, config);
            r.headers.add("X-Request-Id", id);
            r.headers.add("X-Gateway-Request-Id", id);
            add_cors_headers(r.headers, config.gateway.allowed_origin, headers);
            result.action = std::move(r);
            result.request_id = std::move(id);
            return result;
        }
        case routing::TargetKind::gateway_bare:
            return error_result(ctx, req, std::move(id), ErrorType::bad_request,
                                "Missing API path: use /gateway/{service}/{path}, e.g. "
                                "/gateway/openai/v1/chat/completions. Available services: " +
                                    config.service_names());
        case routing::TargetKind::unknown:
            break;
        case routing::TargetKind::proxy: {
            routing::RequestFacts facts{req.method, req.target, req.headers,
                                        req.body ? std::string_view(*req.body) : std::string_view(),
                                        req.content_length};
            auto decision = routing::route(config, facts, *target);
            if (!decision) {
                const bool not_found = decision.error().kind == routing::RouteErrorKind::not_found;
                return error_result(ctx, req, std::move(id),
                                    not_found ? ErrorType::not_found : ErrorType::bad_request,
                                    decision.error().message);
            }
            HandlerResult result;
            ProxyPlan& plan = result.action.emplace<ProxyPlan>();  // built in it, not moved in
            plan.request.method.assign(req.method);
            plan.request.url = std::move(decision->upstream_url);
            decision->upstream_url.clear();  // moved: now certainly empty (upstream_path() too)
            plan.request.headers =
                routing::upstream_request_headers(headers, *decision->service, id);
            plan.request.body = req.body;
            plan.decision = std::move(*decision);
            result.request_id = std::move(id);
            return result;
        }
    }
    return error_result(ctx, req, std::move(id), ErrorType::not_found,
                        "Route not found: " + std::string(req.method) + " " +
                            std::string(req.target.substr(0, req.target.find('?'))) +
                            ". Use /gateway/{service}/{path}. Available services: " +
                            config.service_names());
}

std::optional<HandlerResult> refusal_before_body(const HandlerContext& ctx, std::string_view method,
                                                 std::string_view target, const Headers& headers) {
    HandlerResult result = handle_request(ctx, IncomingRequest{method, target, &headers, {}, {}});
    if (result.error_type.empty()) return std::nullopt;
    return result;
}

bool is_event_stream(const Headers& upstream) {
    for (const HeaderField& f : upstream) {
        if (str::iequals(f.name, "content-type") && str::icontains(f.value, "text/event-stream")) {
            return true;
        }
    }
    return false;
}

bool has_content_coding(const Headers& upstream) {
    for (const HeaderField& f : upstream) {
        if (str::iequals(f.name, "content-encoding") && !str::trim(f.value).empty() &&
            !str::iequals(str::trim(f.value), "identity")) {
            return true;
        }
    }
    return false;
}

std::string_view proxied_response_headers(HeadWriter& out, const config::Config& config,
                                          const Headers& request, const Headers& upstream,
                                          bool is_sse, const OwnResponseFields& own) {
    bool has_request_id = false;
    bool has_date = false;
    std::string_view upstream_id;   // the first X-Request-Id
    std::string_view anthropic_id;  // the first Request-Id
    std::string exposed;            // the upstream's Access-Control-Expose-Headers names
    const routing::ConnectionOptions options(upstream);
    for (const HeaderField& f : upstream) {
        if (routing::is_dropped_response_header(f.name) || str::iequals(f.name, "content-length")) {
            continue;
        }
        if (options.lists(f.name)) continue;
        if (str::istarts_with(f.name, "access-control-")) {  // ours replace them
            if (str::iequals(f.name, "access-control-expose-headers")) {
                add_exposed_names(exposed, f.value);
            }
            continue;
        }
        if (str::iequals(f.name, "x-request-id")) {
            if (!has_request_id) upstream_id = f.value;
            has_request_id = true;
        } else if (anthropic_id.empty() && str::iequals(f.name, "request-id")) {
            anthropic_id = f.value;
        } else if (f.name.size() == 4 && str::iequals(f.name, "date")) {
            has_date = true;
        }
        if (is_sse && (str::iequals(f.name, "cache-control") || str::iequals(f.name, "x-accel-buffering"))) {
            continue;
        }
        if (own.retries_spent && str::iequals(f.name, "x-should-retry")) continue;
        out.add(f.name, f.value);
    }
    // The gateway's own fields: the request id was checked or made here (is_valid_request_id).
    if (!has_date && !own.date.empty()) out.add_own("Date", own.date);
    if (is_sse) {
        out.add_own("Cache-Control", "no-cache");
        out.add_own("X-Accel-Buffering", "no");
    }
    out.add_own("X-Gateway-Request-Id", own.request_id);
    if (!has_request_id) out.add_own("X-Request-Id", own.request_id);
    out.add_own("X-Processing-Mode", routing::to_string(own.lane));
    out.add_own("X-Processing-Time", str::fixed2(own.processing_ms));
    if (own.fell_back) out.add_own("X-Fallback", "background");
    if (own.retries_spent) out.add_own("x-should-retry", "false");
    add_cors_headers(out, config.gateway.allowed_origin, request, exposed);
    return has_request_id ? upstream_id : anthropic_id;
}

}  // namespace llmgw::server
