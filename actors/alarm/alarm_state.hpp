// The rule of one alarm, on virtual time, with no actor inside: feed it observations, it says
// when the alarm fires and when it resolves.
//
//   OK ──value > threshold for `for`──► FIRING ──value ≤ threshold for `for`──► OK
//
// A counter metric (sent, received, acked, dead_lettered) is observed as the counter; the
// state turns it into the increase over the alarm's window. A `below` alarm breaches under the
// threshold instead of above it.
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

private:
  std::string describe(double value) const;

  alarm_config config_;
  bool firing_ = false;
  double value_ = 0;
  int64_t since_ms_ = 0;
  std::optional<int64_t> other_side_since_;        ///< when the metric crossed to the other side
  std::deque<std::pair<int64_t, double>> counter_; ///< counters: the window's readings
};

} // namespace mailroom
