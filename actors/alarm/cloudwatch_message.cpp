#include "alarm/cloudwatch_message.hpp"

#include "mailroom/arn.hpp"
#include "mailroom/duration.hpp"

#include <nlohmann/json.hpp>

namespace mailroom {

outgoing_message cloudwatch_state_change(const alarm_config& config,
                                         const alarm_state::transition& t, int64_t now_ms) {
  auto put = nlohmann::json::parse(config.cloudwatch, nullptr, false);
  if (put.is_discarded() || !put.is_object())
    put = nlohmann::json::object();
  auto field = [&](const char* name) { return put.value(name, nlohmann::json{}); };
  std::string region = put.value("Region", std::string{aws_default_region});
  std::string account = put.value("Account", std::string{aws_default_account});
  std::string state = t.firing ? "ALARM" : "OK";
  // CloudWatch's timestamps: ISO 8601 with milliseconds and "+0000".
  auto when = format_timestamp_ms(now_ms);
  if (!when.empty() && when.back() == 'Z')
    when = when.substr(0, when.size() - 1) + "+0000";
  nlohmann::ordered_json body;
  body["AlarmName"] = config.name;
  body["AlarmDescription"] = field("AlarmDescription");
  body["AWSAccountId"] = account;
  body["NewStateValue"] = state;
  body["NewStateReason"] = t.text;
  body["StateChangeTime"] = when;
  body["Region"] = region;
  body["AlarmArn"] = "arn:aws:cloudwatch:" + region + ":" + account + ":alarm:" + config.name;
  body["OldStateValue"] = t.firing ? "OK" : "ALARM";
  nlohmann::ordered_json trigger;
  trigger["MetricName"] = field("MetricName");
  trigger["Namespace"] = field("Namespace");
  trigger["StatisticType"] = "Statistic";
  trigger["Statistic"] = field("Statistic");
  trigger["Unit"] = nullptr;
  trigger["Dimensions"] = nlohmann::ordered_json::array(
      {{{"value", put.value("QueueName", std::string{})}, {"name", "QueueName"}}});
  trigger["Period"] = field("Period");
  trigger["EvaluationPeriods"] = field("EvaluationPeriods");
  trigger["ComparisonOperator"] = field("ComparisonOperator");
  trigger["Threshold"] = field("Threshold");
  trigger["TreatMissingData"] = "missing";
  trigger["EvaluateLowSampleCountPercentile"] = "";
  body["Trigger"] = std::move(trigger);
  outgoing_message m;
  m.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  m.subject = state + ": \"" + config.name + "\" in " + region;
  if (m.subject.size() > 100)
    m.subject.resize(100);
  return m;
}

} // namespace mailroom
