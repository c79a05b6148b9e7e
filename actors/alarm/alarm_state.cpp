#include "actors/alarm/alarm_state.hpp"

#include "mailroom/duration.hpp"
#include "mailroom/error.hpp"
#include "mailroom/types.hpp" // validate_name

#include <cmath>
#include <sstream>

namespace mailroom {

caf::error validate(const alarm_config& c) {
  auto bad = [&](const std::string& why) {
    return make_error(errc::invalid_argument, "alarm '" + c.name + "': " + why);
  };
  if (auto err = validate_name("alarm", c.name))
    return err;
  auto colon = c.entity.find(':');
  auto kind = c.entity.substr(0, colon == std::string::npos ? 0 : colon);
  if (kind != "queue" && kind != "sink")
    return bad("entity '" + c.entity + "' is not queue:NAME or sink:NAME");
  if (auto err = validate_name(kind, c.entity.substr(colon + 1)))
    return bad(message_of(err));
  bool queue_metric = c.metric == "visible" || c.metric == "in_flight" ||
                      c.metric == "oldest_age_ms" || c.metric == "dead_lettered_per_minute";
  if (kind == "queue" && !queue_metric)
    return bad("metric '" + c.metric +
               "' is not one of a queue's: visible, in_flight, "
               "oldest_age_ms, dead_lettered_per_minute");
  if (kind == "sink" && c.metric != "depth")
    return bad("metric '" + c.metric + "' is not one of a sink's: depth");
  if (!std::isfinite(c.threshold) || c.threshold < 0)
    return bad("threshold must be a number >= 0");
  if (c.for_ms < 0 || c.for_ms > 24LL * 3600 * 1000)
    return bad("duration " + format_duration_ms(c.for_ms) + " is outside 0s..24h");
  if (c.check_every_ms < 10 || c.check_every_ms > 3600 * 1000)
    return bad("check interval " + format_duration_ms(c.check_every_ms) + " is outside 10ms..1h");
  if (auto err = validate_name("topic", c.topic))
    return bad(message_of(err));
  return {};
}

std::string alarm_state::describe(double value) const {
  std::ostringstream v;
  v << value;
  if (config_.metric == "depth")
    return "DLQ threshold exceeded: " + v.str() + " messages in " + config_.entity + " (alarm '" +
           config_.name + "', threshold " +
           std::to_string(static_cast<int64_t>(config_.threshold)) + ")";
  std::ostringstream t;
  t << config_.threshold;
  return "alarm '" + config_.name + "': " + config_.entity + " " + config_.metric + " is " +
         v.str() + ", above " + t.str() + " for " + format_duration_ms(config_.for_ms);
}

std::optional<alarm_state::transition> alarm_state::observe(int64_t now_ms, double reading) {
  auto value = reading;
  if (is_rate()) {
    counter_.emplace_back(now_ms, reading);
    while (counter_.size() > 1 && counter_[1].first <= now_ms - 60'000)
      counter_.pop_front();
    // The increase over the last minute; a counter that went back (node restart) counts from 0.
    value = std::max(0.0, reading - counter_.front().second);
  }
  value_ = value;
  if (since_ms_ == 0)
    since_ms_ = now_ms;
  bool breaching = value > config_.threshold;
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
