// SIGINT and SIGTERM for `llmgw call`, with handlers of its own: installed without SA_RESTART,
// so a write blocked on a reader that stopped reading returns, and each signal makes a pipe
// readable, which the event loop and the stdout writer both wait on.
#pragma once

namespace llmgw::cli {

// Installs the handlers (again: no change). Returns the descriptor that is readable from the
// first signal on (it is never read, so it stays readable), or -1 when no pipe could be made;
// the handlers are installed either way.
int install_interrupt_handlers();

// The first of SIGINT and SIGTERM that arrived since install_interrupt_handlers(), or 0.
int interrupt_signal();

// install_interrupt_handlers()'s descriptor, or -1 before it.
int interrupt_fd();

}  // namespace llmgw::cli
