#include "mailroom/duration.hpp"

#include "mailroom/error.hpp"

#include <charconv>
#include <limits>

#include <cstdio>
#include <ctime>

namespace mailroom {

namespace {

struct unit {
  std::string_view suffix;
  int64_t ms;
};

// Longest suffix first so that "ms" is not read as "m" + "s".
constexpr unit units[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};

} // namespace

caf::expected<int64_t> parse_duration_ms(std::string_view text, std::string_view what) {
  auto fail = [&] {
    return make_error(errc::invalid_argument,
                      std::string{what} + " '" + std::string{text} +
                          "' is not a duration (e.g. 250ms, 30s, 5m, 2h, 14d)");
  };
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end == text.data() || value < 0)
    return fail();
  std::string_view suffix{end, static_cast<size_t>(text.data() + text.size() - end)};
  for (const auto& u : units)
    if (suffix == u.suffix) {
      if (value > std::numeric_limits<int64_t>::max() / u.ms)
        return fail();
      return value * u.ms;
    }
  return fail();
}

std::string format_duration_ms(int64_t ms) {
  for (auto it = std::rbegin(units); it != std::rend(units); ++it)
    if (ms != 0 && ms % it->ms == 0)
      return std::to_string(ms / it->ms) + std::string{it->suffix};
  return std::to_string(ms) + "ms";
}

std::string format_timestamp_ms(int64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(unix_ms % 1000));
  return buf;
}

} // namespace mailroom
