#include "upstream/classify.hpp"

namespace llmgw::upstream {

ErrorType classify(CURLcode code) {
    switch (code) {
        case CURLE_OPERATION_TIMEDOUT:
            return ErrorType::timeout;
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
            return ErrorType::dns;
        case CURLE_COULDNT_CONNECT:
#if LIBCURL_VERSION_NUM >= 0x074900  // 7.73.0: a proxy's refusal has a code of its own
        case CURLE_PROXY:
#endif
            return ErrorType::connection;
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_SSL_SHUTDOWN_FAILED:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ENGINE_SETFAILED:
        case CURLE_SSL_ENGINE_INITFAILED:
        case CURLE_USE_SSL_FAILED:
#if LIBCURL_VERSION_NUM >= 0x074d00  // 7.77.0
        case CURLE_SSL_CLIENTCERT:
#endif
            return ErrorType::ssl;
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_BAD_CONTENT_ENCODING:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_SEND_FAIL_REWIND:
            return ErrorType::network;
        default:
            return ErrorType::unknown;
    }
}

bool refused_an_answer(CURLcode code) {
    return code == CURLE_UNSUPPORTED_PROTOCOL || code == CURLE_WEIRD_SERVER_REPLY;
}

}  // namespace llmgw::upstream
