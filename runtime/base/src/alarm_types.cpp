#include "mailroom/alarm_types.hpp"

#include "mailroom/duration.hpp"
#include "mailroom/error.hpp"
#include "mailroom/types.hpp" // validate_name

#include <cmath>

namespace mailroom {

bool alarm_config::counter_metric() const {
  return metric == "sent" || metric == "received" || metric == "acked" ||
         metric == "dead_lettered" || metric == "dead_lettered_per_minute";
}

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
  bool queue_metric = c.metric == "visible" || c.metric == "in_flight" || c.metric == "delayed" ||
                      c.metric == "oldest_age_ms" || c.counter_metric();
  if (kind == "queue" && !queue_metric)
    return bad("metric '" + c.metric +
               "' is not one of a queue's: visible, in_flight, delayed, oldest_age_ms, "
               "sent, received, acked, dead_lettered");
  if (kind == "sink" && c.metric != "depth")
    return bad("metric '" + c.metric + "' is not one of a sink's: depth");
  if (!std::isfinite(c.threshold))
    return bad("threshold must be a finite number");
  if (c.window_ms < 1000 || c.window_ms > 24LL * 3600 * 1000)
    return bad("window " + format_duration_ms(c.window_ms) + " is outside 1s..24h");
  if (c.for_ms < 0 || c.for_ms > 24LL * 3600 * 1000)
    return bad("duration " + format_duration_ms(c.for_ms) + " is outside 0s..24h");
  if (c.check_every_ms < 10 || c.check_every_ms > 3600 * 1000)
    return bad("check interval " + format_duration_ms(c.check_every_ms) + " is outside 10ms..1h");
  // A CloudWatch alarm may have no actions: it keeps its state and publishes nothing.
  bool without_actions = c.topic.empty() && !c.cloudwatch.empty();
  if (auto err = validate_name("topic", c.topic); err && !without_actions)
    return bad(message_of(err));
  if (!c.ok_topic.empty() && c.cloudwatch.empty())
    return bad("an OK topic is for CloudWatch alarms (OKActions); this one resolves to '" +
               c.topic + "'");
  if (!c.ok_topic.empty())
    if (auto err = validate_name("topic", c.ok_topic))
      return bad(message_of(err));
  return {};
}

} // namespace mailroom
