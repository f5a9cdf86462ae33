// The process allocator: mimalloc when the build links it (LLMGW_MIMALLOC), else the C library's.
#pragma once

namespace llmgw::cli {

// Gives the calling thread's freed memory back to the system (mimalloc frees lazily and acts
// only when called); nullptr when the allocator needs no such call.
using ReleaseMemory = void (*)();
ReleaseMemory allocator_release_memory();

}  // namespace llmgw::cli
