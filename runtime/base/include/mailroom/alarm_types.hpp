// Value types of alarms: a metric of a queue or dead-letter sink, a threshold and a duration.
// A firing alarm publishes an alert to a topic (and logs it); a resolve message follows when
// the metric is back under the threshold for as long.
#pragma once

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>

#include <cstdint>
#include <string>

namespace mailroom {

struct alarm_config {
  std::string name;
  /// "queue:NAME" or "sink:NAME".
  std::string entity;
  /// queue gauges: visible | in_flight | delayed | oldest_age_ms; queue counters, watched as
  /// their increase over `window_ms`: sent | received | acked | dead_lettered (also named
  /// dead_lettered_per_minute, its first name); sink: depth.
  std::string metric;
  double threshold = 0;    ///< fires while the metric is above it (or below: `below`)
  int64_t for_ms = 60'000; ///< ... continuously for this long; resolves after as long below
  std::string topic;       ///< where alerts and resolves are published (empty: nowhere, only
                           ///< for a CloudWatch alarm without actions)
  int64_t check_every_ms = 1'000;
  /// The CloudWatch PutMetricAlarm this alarm was made from, as JSON (its parameters and the
  /// region), for DescribeAlarms; empty: made through Mailroom's own API. With it, state
  /// changes are published as CloudWatch's SNS message (JSON body, Subject "ALARM: ...").
  std::string cloudwatch;
  bool below = false;         ///< fires while the metric is below the threshold instead
  int64_t window_ms = 60'000; ///< counters: the window their increase is taken over
  /// CloudWatch alarms only: where OK transitions go (OKActions; empty: nowhere), while
  /// `topic` takes the ALARM ones. Mailroom's own alarms publish both to `topic`.
  std::string ok_topic;

  /// Whether `metric` is a counter (watched as its increase over the window).
  bool counter_metric() const;
  /// The topic a transition to firing (or back) is published to; empty: none.
  const std::string& topic_for(bool firing) const {
    return firing || cloudwatch.empty() ? topic : ok_topic;
  }

  friend bool operator==(const alarm_config&, const alarm_config&) = default;
};

/// Checks the entity form, the metric for that entity kind, the durations; names the alarm.
caf::error validate(const alarm_config& config);

struct alarm_status {
  std::string name;
  bool firing = false;
  double value = 0;     ///< last observed value
  int64_t since_ms = 0; ///< when the current state began (0: never observed)
};

} // namespace mailroom

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::alarm_config)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::alarm_status)
