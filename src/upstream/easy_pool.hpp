// Reuses curl easy handles per thread: curl_easy_reset is far cheaper than init + cleanup,
// and each handle keeps its buffers warm.
#pragma once

#include <curl/curl.h>

namespace llmgw::upstream {

CURL* acquire_easy();
void release_easy_handle(CURL* easy);

}  // namespace llmgw::upstream
