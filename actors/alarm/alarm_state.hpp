// The rule of one alarm, on virtual time, with no actor inside: feed it observations, it says
// when the alarm fires and when it resolves.
//
//   OK ──value > threshold for `for`──► FIRING ──value ≤ threshold for `for`──► OK
//
// A rate metric (dead_lettered_per_minute) is observed as a counter; the state turns it into
// the increase over the last minute.
#pragma once

#include "mailroom/alarm_types.hpp"

#include <deque>
#include <optional>
#include <string>
#include <utility>

namespace mailroom {

class alarm_state {
public:
  struct transition {
    bool firing;      ///< true: fired; false: resolved
    double value;     ///< the metric when it happened
    std::string text; ///< the alert or resolve message
  };

  explicit alarm_state(alarm_config config) : config_(std::move(config)) {}

  const alarm_config& config() const { return config_; }
  /// A new reading of the metric (for rate metrics: of the counter) at `now_ms`.
  std::optional<transition> observe(int64_t now_ms, double reading);
  alarm_status status() const;

  /// Whether the metric is a per-minute rate computed from a counter.
  bool is_rate() const { return config_.metric == "dead_lettered_per_minute"; }

private:
  std::string describe(double value) const;

  alarm_config config_;
  bool firing_ = false;
  double value_ = 0;
  int64_t since_ms_ = 0;
  std::optional<int64_t> other_side_since_;        ///< when the metric crossed to the other side
  std::deque<std::pair<int64_t, double>> counter_; ///< rate metrics: the last minute of readings
};

} // namespace mailroom
