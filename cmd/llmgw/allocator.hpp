// The process allocator's settings: mimalloc's, when the build links it (LLMGW_MIMALLOC).
#pragma once

namespace llmgw::cli {

// Called first thing in main. Does nothing with the C library's allocator.
void tune_allocator();

}  // namespace llmgw::cli
