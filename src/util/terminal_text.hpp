// Text from an upstream or a model made safe for a terminal: no escape sequence (an OSC 52
// clipboard write, a title change), no bell, no line of its own.
#pragma once

#include <string>
#include <string_view>

namespace llmgw {

// `bytes` with control characters (C0 but tab and newline; DEL; C1, U+0080-U+009F as UTF-8)
// shown as U+FFFD: a model's text, safe for a terminal, a chunk at a time (a multi-byte
// character may be split between chunks; the caller holds a trailing 0xC2 back).
std::string without_controls(std::string_view bytes);
// A whole line for stderr (a note quoting the upstream, an error body): controls but tab, C1
// and every byte that is not well-formed UTF-8 shown as U+FFFD.
std::string safe_line(std::string_view text);

}  // namespace llmgw
