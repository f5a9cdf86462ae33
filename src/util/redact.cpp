#include "util/redact.hpp"

#include "util/strings.hpp"

namespace llmgw {

namespace {

// `text` with the user info of every URL in it ("scheme://user:password@host") shown as ***.
// Strict: the user info ends at the first '/', '?' or '#', as a well-formed URL's does.
std::string userinfo_hidden(std::string_view text) {
    std::string out;
    std::size_t from = 0;
    for (std::size_t at = text.find("://"); at != std::string_view::npos;
         at = text.find("://", at + 3)) {
        const std::size_t start = at + 3;
        const std::size_t end = text.find_first_of("/?#'\" \t\r\n<>", start);
        const std::string_view authority = text.substr(
            start, end == std::string_view::npos ? std::string_view::npos : end - start);
        const std::size_t sign = authority.rfind('@');
        if (sign == std::string_view::npos) continue;
        out.append(text.substr(from, start - from)).append("***");
        from = start + sign;  // the '@' and the host stay
    }
    out.append(text.substr(from));
    return out;
}

}  // namespace

bool is_secret_header(std::string_view name) {
    for (std::string_view s : {"authorization", "cookie", "proxy-authorization", "set-cookie"}) {
        if (str::iequals(name, s)) return true;
    }
    // A word of the name (between '-' or '_'): x-api-key, x-goog-api-key, api-key,
    // x-portkey-api-key, x-auth-token, x-client-secret, apikey; not x-portkey-provider.
    for (std::string_view word : str::split(name, '-')) {
        for (std::string_view part : str::split(word, '_')) {
            for (std::string_view s : {"key", "apikey", "token", "secret", "password"}) {
                if (str::iequals(part, s)) return true;
            }
        }
    }
    return false;
}

std::string redact_header_value(std::string_view name, std::string_view value) {
    return is_secret_header(name) ? std::string("***") : std::string(value);
}

std::string redact_userinfo_in_message(std::string_view text) {
    std::string out;
    const auto boundary = [](char c) {
        return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\'' || c == '"' ||
               c == '`' || c == '<' || c == '>' || c == '(' || c == ')' || c == ',';
    };
    std::size_t i = 0;
    while (i < text.size()) {
        if (boundary(text[i])) {
            out += text[i++];
            continue;
        }
        std::size_t end = i;
        while (end < text.size() && !boundary(text[end])) ++end;
        std::string_view word = text.substr(i, end - i);
        const std::size_t sign = word.rfind('@');
        if (sign != std::string_view::npos) {
            const std::size_t scheme = word.substr(0, sign).find("://");
            const std::size_t from = scheme == std::string_view::npos ? 0 : scheme + 3;
            out.append(word.substr(0, from)).append("***").append(word.substr(sign));
        } else {
            out.append(word);
        }
        i = end;
    }
    return out;
}

std::string redact_target(std::string_view target) {
    if (target.find("://") != std::string_view::npos) {
        const std::string plain = userinfo_hidden(target);
        if (plain != target) return redact_target(plain);
    }
    const std::size_t q = target.find('?');
    if (q == std::string_view::npos) return std::string(target);
    std::string out(target.substr(0, q + 1));
    bool first = true;
    for (std::string_view param : str::split(target.substr(q + 1), '&')) {
        if (!first) out += '&';
        first = false;
        const std::size_t eq = param.find('=');
        const std::string_view key = param.substr(0, eq);
        // Upstreams decode "%6Bey" to "key": compare the decoded name.
        const std::string decoded = str::percent_decode(key).value_or(std::string(key));
        bool secret = false;
        // The names providers and SDKs put credentials under: the secret headers' own names
        // (api-key, x-goog-api-key, …), tokens, and Azure's SAS signature.
        for (std::string_view s :
             {"key", "api_key", "api-key", "apikey", "x-api-key", "x-goog-api-key", "token",
              "access_token", "refresh_token", "id_token", "client_secret", "password", "secret",
              "sig", "signature"}) {
            if (str::iequals(decoded, s)) secret = true;
        }
        if (secret && eq != std::string_view::npos) {
            out += key;
            out += "=***";
        } else {
            out += param;
        }
    }
    return out;
}

}  // namespace llmgw
