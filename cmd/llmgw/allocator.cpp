#include "allocator.hpp"

#if defined(LLMGW_WITH_MIMALLOC)
#include <mimalloc.h>
#endif

namespace llmgw::cli {

void tune_allocator() {
#if defined(LLMGW_WITH_MIMALLOC)
    // Freed pages go back to the system at once instead of after a delay. mimalloc acts on its
    // delays only when it is next called, so a gateway gone idle after a burst (a thousand
    // streams ending) kept that burst's memory, ~17 MiB, until its next request. Under steady
    // load pages are reused before they empty: no extra system calls (strace), no change in
    // CPU per request (BENCHMARKS.md).
#if MI_MALLOC_VERSION >= 210
    mi_option_set(mi_option_purge_delay, 0);
#else
    mi_option_set(mi_option_decommit_delay, 0);
    mi_option_set(mi_option_segment_decommit_delay, 0);
#endif
#endif
}

}  // namespace llmgw::cli
