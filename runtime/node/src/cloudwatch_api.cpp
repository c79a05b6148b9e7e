#include "cloudwatch_api.hpp"

#include "aws_query.hpp"
#include "mailroom/arn.hpp"
#include "mailroom/error.hpp"
#include "mailroom/node.hpp"

#include <nlohmann/json.hpp>

#include <cmath>
#include <optional>
#include <map>
#include <set>

namespace mailroom {

const aws_dialect cloudwatch_dialect{"http://monitoring.amazonaws.com/doc/2010-08-01/",
                                     "InvalidParameterValue", "", false};

// CloudWatch's values are whole numbers in its unit (a count, seconds of age), Mailroom's
// whole numbers `scale` times finer (ms): the comparison is rounded in CloudWatch's unit first,
// so that an age of "5 s" covers 5000..5999 ms. For whole numbers, v >= X is v > X - 1.
std::optional<std::pair<bool, double>> cloudwatch_comparison(const std::string& op, double t,
                                                             double scale) {
  if (op == "GreaterThanThreshold") // a >= floor(T) + 1
    return std::pair{false, (std::floor(t) + 1) * scale - 1};
  if (op == "GreaterThanOrEqualToThreshold") // a >= ceil(T)
    return std::pair{false, std::ceil(t) * scale - 1};
  if (op == "LessThanThreshold") // a < ceil(T)
    return std::pair{true, std::ceil(t) * scale};
  if (op == "LessThanOrEqualToThreshold") // a < floor(T) + 1
    return std::pair{true, (std::floor(t) + 1) * scale};
  return std::nullopt;
}

namespace {

const aws_dialect& cw = cloudwatch_dialect;

/// The AWS/SQS metrics a Mailroom alarm can watch, the factor from CloudWatch's unit, and
/// whether it is a count per period (a Mailroom counter watched over a window) or a gauge.
struct metric_mapping {
  const char* mailroom;
  double scale;
  bool per_period;
};
const std::map<std::string, metric_mapping>& metrics() {
  static const std::map<std::string, metric_mapping> m = {
      {"ApproximateNumberOfMessagesVisible", {"visible", 1, false}},
      {"ApproximateNumberOfMessagesNotVisible", {"in_flight", 1, false}},
      {"ApproximateNumberOfMessagesDelayed", {"delayed", 1, false}},
      {"ApproximateAgeOfOldestMessage", {"oldest_age_ms", 1000, false}}, // seconds → ms
      {"NumberOfMessagesSent", {"sent", 1, true}},
      {"NumberOfMessagesReceived", {"received", 1, true}},
      {"NumberOfMessagesDeleted", {"acked", 1, true}},
  };
  return m;
}

/// At most one SNS topic in an action list: the topic's name, or empty.
checked<std::string> action_topic(const aws::form& f, const std::string& list) {
  auto actions = f.list(list + ".member");
  if (actions.size() > 1 || (actions.size() == 1 && actions[0].rfind("arn:aws:sns:", 0) != 0))
    return cw.invalid(list + " must name at most one SNS topic ARN (the topic the alarm "
                             "publishes those state changes to).");
  return actions.empty() ? std::string{} : std::string{arn_resource(actions[0])};
}

aws_reply cw_error(const caf::error& err) {
  switch (code_of(err)) {
  case errc::not_found:
    return cw.error(404, "ResourceNotFound", message_of(err));
  case errc::invalid_argument:
  case errc::already_exists:
    return cw.error(400, "InvalidParameterValue", message_of(err));
  default:
    return cw.error(503, "ServiceUnavailable", message_of(err));
  }
}

/// PutMetricAlarm as a Mailroom alarm; the parameters are kept (as JSON) for DescribeAlarms
/// and for the state-change messages.
checked<alarm_config> alarm_of(const aws::form& f, const aws_scope& scope) {
  auto required = [&](const char* field) -> checked<std::string> {
    auto v = f.get(field);
    if (v.empty())
      return missing(field);
    return v;
  };
  std::map<std::string, std::string> in;
  for (auto field : {"AlarmName", "Namespace", "MetricName", "ComparisonOperator"}) {
    auto v = required(field);
    if (auto* x = std::get_if<refusal>(&v))
      return *x;
    in[field] = std::get<std::string>(v);
  }
  if (in["Namespace"] != "AWS/SQS")
    return cw.invalid("Namespace '" + in["Namespace"].substr(0, 100) +
                      "' is not served: Mailroom's alarms watch AWS/SQS metrics only.");
  auto metric = metrics().find(in["MetricName"]);
  if (metric == metrics().end())
    return cw.invalid(
        "MetricName '" + in["MetricName"].substr(0, 100) +
        "' is not one Mailroom's alarms can watch (ApproximateNumberOfMessagesVisible, "
        "ApproximateNumberOfMessagesNotVisible, ApproximateNumberOfMessagesDelayed, "
        "ApproximateAgeOfOldestMessage, NumberOfMessagesSent, NumberOfMessagesReceived, "
        "NumberOfMessagesDeleted).");
  auto statistic = f.get("Statistic");
  static const std::set<std::string> statistics = {"SampleCount", "Average", "Sum", "Minimum",
                                                   "Maximum"};
  if (!statistics.count(statistic))
    return statistic.empty()
               ? missing("Statistic")
               : cw.invalid("Statistic '" + statistic.substr(0, 40) +
                            "' is not SampleCount, Average, Sum, Minimum or Maximum.");
  if (metric->second.per_period && statistic != "Sum")
    return cw.invalid("Statistic " + statistic + " of " + in["MetricName"] +
                      " is not supported: Mailroom alarms on its Sum over the period.");
  auto dimensions = f.entries("Dimensions.member");
  if (dimensions.size() != 1 ||
      f.get("Dimensions.member." + std::to_string(dimensions[0]) + ".Name") != "QueueName")
    return cw.invalid("Dimensions must be exactly one, QueueName (an AWS/SQS queue metric).");
  auto queue = f.get("Dimensions.member." + std::to_string(dimensions[0]) + ".Value");
  auto period = cw.integer(f, "Period", 10, 86400, -1);
  auto evaluations = cw.integer(f, "EvaluationPeriods", 1, 1440, -1);
  for (auto* v : {&period, &evaluations})
    if (auto* x = std::get_if<refusal>(v))
      return *x;
  auto seconds = std::get<int64_t>(period);
  if (seconds < 0)
    return missing("Period");
  if (std::get<int64_t>(evaluations) < 0)
    return missing("EvaluationPeriods");
  if ((seconds < 60 && seconds % 10 != 0) || (seconds >= 60 && seconds % 60 != 0))
    return cw.invalid("Period " + std::to_string(seconds) +
                      " must be 10, 20, 30 or a multiple of 60 seconds.");
  auto threshold_text = f.get("Threshold");
  if (threshold_text.empty())
    return missing("Threshold");
  auto parsed = finite_number(threshold_text);
  if (!parsed)
    return cw.invalid("Threshold '" + threshold_text.substr(0, 40) + "' is not a finite number.");
  double threshold = *parsed;
  // Every mapped metric is a whole number (a count, milliseconds).
  auto comparison = in["ComparisonOperator"];
  auto side = cloudwatch_comparison(comparison, threshold, metric->second.scale);
  if (!side)
    return cw.invalid("ComparisonOperator " + comparison.substr(0, 60) +
                      " is not GreaterThanThreshold, GreaterThanOrEqualToThreshold, "
                      "LessThanThreshold or LessThanOrEqualToThreshold.");
  if (f.get("ActionsEnabled") == "false")
    return cw.invalid("ActionsEnabled false is not supported: the alarm's topics are its actions.");
  // No actions: the alarm keeps its state (DescribeAlarms) and publishes nothing.
  auto alarm_topic = action_topic(f, "AlarmActions");
  auto ok_topic = action_topic(f, "OKActions");
  for (auto* t : {&alarm_topic, &ok_topic})
    if (auto* x = std::get_if<refusal>(t))
      return *x;
  auto actions = f.list("AlarmActions.member");
  auto ok_actions = f.list("OKActions.member");
  alarm_config config;
  config.name = in["AlarmName"];
  if (auto err = validate_name("alarm", config.name))
    return cw.invalid("AlarmName: " + message_of(err));
  config.entity = "queue:" + queue;
  config.metric = metric->second.mailroom;
  config.below = side->first;
  config.threshold = side->second;
  // A gauge breaches for Period x EvaluationPeriods; a count per period is watched over a
  // window of one period, and its first period is that window itself.
  auto periods = std::get<int64_t>(evaluations) - (metric->second.per_period ? 1 : 0);
  config.for_ms = seconds * periods * 1000;
  if (metric->second.per_period)
    config.window_ms = seconds * 1000;
  config.topic = std::get<std::string>(alarm_topic);
  config.ok_topic = std::get<std::string>(ok_topic);
  config.check_every_ms = 1000;
  nlohmann::json put = {
      {"AlarmName", config.name}, {"AlarmDescription", f.get("AlarmDescription")},
      {"Namespace", "AWS/SQS"},   {"MetricName", in["MetricName"]},
      {"QueueName", queue},       {"Statistic", statistic},
      {"Period", seconds},        {"EvaluationPeriods", std::get<int64_t>(evaluations)},
      {"Threshold", threshold},   {"ComparisonOperator", comparison},
      {"AlarmActions", actions},  {"OKActions", ok_actions},
      {"Region", scope.region},   {"Account", scope.account}};
  config.cloudwatch = put.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return config;
}

void write_alarm(aws::xml_writer& w, const alarm_config& c, const alarm_status& s) {
  auto put = nlohmann::json::parse(c.cloudwatch, nullptr, false);
  if (put.is_discarded() || !put.is_object())
    return;
  auto text = [&](const char* key) {
    auto v = put.value(key, nlohmann::json{});
    return v.is_string() ? v.get<std::string>() : v.is_null() ? std::string{} : v.dump();
  };
  auto list = [&](const char* tag, const char* key) {
    w.open(tag);
    for (const auto& a : put.value(key, nlohmann::json::array()))
      if (a.is_string())
        w.leaf("member", a.get<std::string>());
    w.close();
  };
  auto region = text("Region");
  auto account = put.value("Account", std::string{aws_default_account});
  w.open("member");
  w.leaf("AlarmName", c.name);
  w.leaf("AlarmArn", "arn:aws:cloudwatch:" + region + ":" + account + ":alarm:" + c.name);
  if (!text("AlarmDescription").empty())
    w.leaf("AlarmDescription", text("AlarmDescription"));
  w.leaf("ActionsEnabled", "true");
  list("OKActions", "OKActions");
  list("AlarmActions", "AlarmActions");
  w.open("InsufficientDataActions");
  w.close();
  w.leaf("StateValue", s.firing ? "ALARM" : s.since_ms == 0 ? "INSUFFICIENT_DATA" : "OK");
  w.leaf("StateReason", s.firing ? "Threshold Crossed" : "Threshold not crossed");
  w.leaf("MetricName", text("MetricName"));
  w.leaf("Namespace", "AWS/SQS");
  w.leaf("Statistic", text("Statistic"));
  w.open("Dimensions");
  w.open("member");
  w.leaf("Name", "QueueName");
  w.leaf("Value", text("QueueName"));
  w.close();
  w.close();
  w.leaf("Period", text("Period"));
  w.leaf("EvaluationPeriods", text("EvaluationPeriods"));
  w.leaf("Threshold", text("Threshold"));
  w.leaf("ComparisonOperator", text("ComparisonOperator"));
  w.close();
}

} // namespace

kj::Promise<aws_reply> cloudwatch_api::handle(const aws_request& r) {
  const auto& f = r.form;
  const auto action = f.get("Action");
  auto refuse = [](const refusal& x) -> kj::Promise<aws_reply> { return cw.error(x); };
  static const std::set<std::string> served = {"PutMetricAlarm", "DescribeAlarms", "DeleteAlarms"};
  if (auto x = unknown_action(action, served))
    return refuse(*x);

  if (action == "PutMetricAlarm") {
    auto config = alarm_of(f, r.scope);
    if (auto* x = std::get_if<refusal>(&config))
      return refuse(*x);
    return bridge_.run([this, c = std::get<alarm_config>(config)] { return node_.put_alarm(c); })
        .then([](caf::error err) { return err ? cw_error(err) : cw.ok("PutMetricAlarm"); });
  }

  if (action == "DeleteAlarms") {
    auto names = f.list("AlarmNames.member");
    if (names.empty())
      return refuse(missing("AlarmNames.member.1"));
    return bridge_
        .run([this, names] {
          for (const auto& n : names)
            if (auto err = node_.delete_alarm(n))
              return err;
          return caf::error{};
        })
        .then([](caf::error err) { return err ? cw_error(err) : cw.ok("DeleteAlarms"); });
  }

  // DescribeAlarms: the alarms made through CloudWatch, by names or prefix; their states are
  // the alarm actors' (a blocking ask each): off the loop.
  auto names = f.list("AlarmNames.member");
  auto prefix = f.get("AlarmNamePrefix");
  auto found = std::make_shared<std::vector<std::pair<alarm_config, alarm_status>>>();
  return bridge_
      .run([this, names, prefix, found] {
        for (const auto& n : node_.alarm_names()) {
          if (!names.empty() && std::find(names.begin(), names.end(), n) == names.end())
            continue;
          if (n.compare(0, prefix.size(), prefix) != 0)
            continue;
          auto config = node_.alarm_configuration(n);
          if (!config || config->cloudwatch.empty())
            continue;
          auto state = node_.alarm_state_of(n);
          found->emplace_back(*config, state ? *state : alarm_status{});
        }
        return caf::error{};
      })
      .then([found](caf::error err) {
        if (err)
          return cw_error(err);
        std::sort(found->begin(), found->end(),
                  [](const auto& a, const auto& b) { return a.first.name < b.first.name; });
        return cw.ok("DescribeAlarms", [&](aws::xml_writer& w) {
          w.open("MetricAlarms");
          for (const auto& [c, s] : *found)
            write_alarm(w, c, s);
          w.close();
        });
      });
}

} // namespace mailroom
