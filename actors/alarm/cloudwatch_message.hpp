// What CloudWatch publishes to an alarm's SNS actions when its state changes: a JSON body
// (AlarmName, NewStateValue, NewStateReason, StateChangeTime, Region, AlarmArn, OldStateValue,
// Trigger with the metric, its dimensions and the comparison) and the Subject
// `ALARM: "NAME" in REGION`. Made from the PutMetricAlarm an alarm was created from.
#pragma once

#include "alarm/alarm_state.hpp"
#include "mailroom/types.hpp"

#include <cstdint>

namespace mailroom {

/// REQUIRES: `config.cloudwatch` holds the PutMetricAlarm JSON (the HTTP face writes it).
outgoing_message cloudwatch_state_change(const alarm_config& config,
                                         const alarm_state::transition& t, int64_t now_ms);

} // namespace mailroom
