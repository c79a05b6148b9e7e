// Logs a recurring event once per interval, with how many were not logged since: a flood of
// refused connections must not become a flood of log lines.
#pragma once

#include <cstdint>
#include <optional>

namespace mailroom {

class log_throttle {
public:
  explicit log_throttle(int64_t interval_ms) : interval_ms_(interval_ms) {}

  /// The event happened at `now_ms`. When it is to be logged: how many were suppressed before
  /// it; otherwise nothing (and it is counted).
  std::optional<uint64_t> event(int64_t now_ms) {
    if (logged_once_ && now_ms - last_ms_ < interval_ms_) {
      ++suppressed_;
      return std::nullopt;
    }
    logged_once_ = true;
    last_ms_ = now_ms;
    auto n = suppressed_;
    suppressed_ = 0;
    return n;
  }

private:
  int64_t interval_ms_;
  int64_t last_ms_ = 0;
  bool logged_once_ = false;
  uint64_t suppressed_ = 0;
};

} // namespace mailroom
