// Bodies are bytes; JSON strings are UTF-8. These two functions let every JSON output carry a
// body losslessly: as a string when it is valid UTF-8, else as base64 (the CLI's `body_base64`,
// the SNS notification's base64 `Message`). Thread-safe, no state.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailroom {

/// Whether `bytes` is well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most
/// U+10FFFF).
bool is_valid_utf8(std::string_view bytes);

/// Standard base64 (RFC 4648, with padding).
std::string base64_encode(std::string_view bytes);
/// The bytes of standard, padded base64; nullopt for anything else (a stray character, a
/// length that is not a multiple of 4, padding in the middle).
std::optional<std::string> base64_decode(std::string_view text);

} // namespace mailroom
