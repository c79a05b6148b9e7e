// Human durations as the CLI and TOML read them: "250ms", "30s", "5m", "2h", "14d".
#pragma once

#include <caf/expected.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace mailroom {

/// Parses a duration into milliseconds. A bare number is refused: the unit is what makes a
/// config readable. `what` names the input in the error ("queue 'orders': visibility timeout").
caf::expected<int64_t> parse_duration_ms(std::string_view text, std::string_view what);

/// Renders milliseconds in the largest exact unit ("30s", "1500ms", "14d").
std::string format_duration_ms(int64_t ms);

/// A unix time in ms as ISO 8601 UTC with milliseconds, "2026-11-28T07:10:49.123Z" (the
/// timestamp format of SNS notifications).
std::string format_timestamp_ms(int64_t unix_ms);

} // namespace mailroom
