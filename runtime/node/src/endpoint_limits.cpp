#include "mailroom/endpoint_limits.hpp"

#include "mailroom/duration.hpp"
#include "mailroom/error.hpp"

#include <string>

namespace mailroom {

caf::error validate(const endpoint_limits& l) {
  auto bad = [](std::string why) { return make_error(errc::invalid_argument, std::move(why)); };
  if (l.max_connections == 0)
    return bad("[node] max_connections must be at least 1");
  // Upper bounds keep the deadlines' arithmetic (in kj nanoseconds) far from overflow.
  constexpr int64_t week_ms = 7 * 24 * 3600 * 1000LL, hour_ms = 3600 * 1000LL;
  if (l.idle_timeout_ms <= 0 || l.idle_timeout_ms > week_ms)
    return bad("[node] idle_timeout " + format_duration_ms(l.idle_timeout_ms) +
               " is outside 1ms..7d");
  if (l.frame_timeout_ms <= 0 || l.frame_timeout_ms > hour_ms)
    return bad("[node] frame_timeout " + format_duration_ms(l.frame_timeout_ms) +
               " is outside 1ms..1h");
  // The smallest request (an empty list call) is a few dozen bytes; 4 KiB leaves room for any
  // call without messages.
  if (l.max_frame_bytes < 4096 || l.max_frame_bytes > max_frame_bytes_limit)
    return bad("[node] max_frame_size " + std::to_string(l.max_frame_bytes) +
               " bytes is outside 4096.." + std::to_string(max_frame_bytes_limit));
  if (l.max_incomplete_frame_bytes < l.max_frame_bytes)
    return bad("[node] max_incomplete_frames " + std::to_string(l.max_incomplete_frame_bytes) +
               " bytes cannot hold one frame of max_frame_size " +
               std::to_string(l.max_frame_bytes) + " bytes");
  return {};
}

} // namespace mailroom
