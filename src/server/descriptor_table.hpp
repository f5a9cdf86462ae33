// The process's descriptors, prepared once before the loops start: the soft open-files limit
// raised to what max_connections needs, and the descriptor table sized for as many. The kernel
// grows the table by doubling as descriptors are opened (64, 128, ... 2,048 for a burst of 1,000
// streams), and in a process with more than one thread each growth waits for an RCU grace
// period: about 7 ms measured here, with the thread that opened the descriptor (and any other
// one opening one) stopped meanwhile. The table never shrinks, so growing it at start, while one
// thread runs, costs nothing later. The first burst of 1,000 streams after a start answered its
// first bytes in 49-68 ms (median over streams; six starts) before, and in 17-26 ms after.
#pragma once

namespace llmgw::server {

// Raises the soft open-files limit to what `max_connections` needs (a client's and an upstream
// descriptor each, and a margin), as far as the hard limit allows; never lowers it. A common
// default soft limit of 1,024 would hold about 500 proxied streams. Returns 0, or the errno of a
// refused change (the limit then stays as it was).
int raise_open_files_limit(int max_connections);

// The number of descriptors worth reserving for `max_connections` (a client's and an upstream
// connection's each, and a margin), within the soft open-files limit and 2^20 (past that the
// table grows as it goes: about 8 bytes of kernel memory per slot).
int descriptors_to_reserve(int max_connections);
// The same, for a given soft open-files limit (RLIM_INFINITY is a huge number).
int descriptors_to_reserve(int max_connections, unsigned long long soft_limit);

// Grows the table to hold the descriptors below `count`, by duplicating `any_open_fd` to
// descriptor count - 1 and closing the copy. Returns 0, or the errno of a failed duplicate (the
// table then grows as it goes, as it would without this).
int reserve_descriptor_table(int any_open_fd, int count);

}  // namespace llmgw::server
