#include "alarm/alarm_state.hpp"

#include "mailroom/duration.hpp"
#include "mailroom/error.hpp"
#include "mailroom/types.hpp" // validate_name

#include <cmath>
#include <sstream>

namespace mailroom {

std::string alarm_state::describe(double value) const {
  std::ostringstream v;
  v << value;
  if (config_.metric == "depth")
    return "DLQ threshold exceeded: " + v.str() + " messages in " + config_.entity + " (alarm '" +
           config_.name + "', threshold " +
           std::to_string(static_cast<int64_t>(config_.threshold)) + ")";
  std::ostringstream t;
  t << config_.threshold;
  auto what = config_.counter_metric()
                  ? config_.metric + " in the last " + format_duration_ms(config_.window_ms)
                  : config_.metric;
  return "alarm '" + config_.name + "': " + config_.entity + " " + what + " is " + v.str() +
         (config_.below ? ", below " : ", above ") + t.str() + " for " +
         format_duration_ms(config_.for_ms);
}

std::optional<alarm_state::transition> alarm_state::observe(int64_t now_ms, double reading) {
  auto value = reading;
  if (config_.counter_metric()) {
    counter_.emplace_back(now_ms, reading);
    while (counter_.size() > 1 && counter_[1].first <= now_ms - config_.window_ms)
      counter_.pop_front();
    // The increase over the window; a counter that went back (node restart) counts from 0.
    value = std::max(0.0, reading - counter_.front().second);
  }
  value_ = value;
  if (since_ms_ == 0)
    since_ms_ = now_ms;
  // A counter's increase is known for a whole window only once one has passed: until then it
  // may only be too low, so a `below` alarm on it waits (an `above` one may breach at once).
  bool partial = config_.counter_metric() && now_ms - counter_.front().first < config_.window_ms;
  bool breaching =
      config_.below ? value < config_.threshold && !partial : value > config_.threshold;
  if (breaching == firing_) {
    other_side_since_.reset();
    return std::nullopt;
  }
  if (!other_side_since_)
    other_side_since_ = now_ms;
  if (now_ms - *other_side_since_ < config_.for_ms)
    return std::nullopt;
  firing_ = breaching;
  since_ms_ = now_ms;
  other_side_since_.reset();
  if (firing_)
    return transition{true, value, describe(value)};
  std::ostringstream v;
  v << value;
  return transition{false, value,
                    "resolved: alarm '" + config_.name + "': " + config_.entity + " " +
                        config_.metric + " is " + v.str() + " again"};
}

alarm_status alarm_state::status() const {
  return {config_.name, firing_, value_, since_ms_};
}

} // namespace mailroom
