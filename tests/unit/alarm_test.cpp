// Alarms: the fire/resolve rule on virtual time, and a real node publishing alerts to a topic.
#include "alarm/alarm_state.hpp"
#include "alarm/cloudwatch_message.hpp"
#include "mailroom/config.hpp"
#include "mailroom/error.hpp"
#include "node_fixture.hpp"

#include "cloudwatch_api.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

using namespace mailroom;

namespace {

alarm_config dlq_depth() {
  return {"dlq-depth", "sink:orders-dlq", "depth", 10, 60'000, "alerts", 1'000, {}, false, 60'000,
          {}};
}

constexpr int64_t start = 1'700'000'000'000;

} // namespace

TEST(alarm_state, fires_only_after_the_metric_stays_above_the_threshold_for_the_duration) {
  alarm_state a{dlq_depth()};
  EXPECT_FALSE(a.observe(start, 12));
  EXPECT_FALSE(a.observe(start + 30'000, 12));
  EXPECT_FALSE(a.observe(start + 40'000, 5)) << "dipped: the clock starts again";
  EXPECT_FALSE(a.observe(start + 50'000, 12));
  EXPECT_FALSE(a.observe(start + 109'999, 12));
  auto fired = a.observe(start + 110'000, 13);
  ASSERT_TRUE(fired);
  EXPECT_TRUE(fired->firing);
  EXPECT_EQ(fired->text.rfind("DLQ threshold exceeded: 13 messages", 0), 0u) << fired->text;
  EXPECT_TRUE(a.status().firing);
  EXPECT_FALSE(a.observe(start + 120'000, 15)) << "fires once";
  EXPECT_FALSE(a.observe(start + 130'000, 0));
  auto resolved = a.observe(start + 190'000, 0);
  ASSERT_TRUE(resolved);
  EXPECT_FALSE(resolved->firing);
  EXPECT_NE(resolved->text.find("resolved"), std::string::npos);
}

TEST(alarm_state, a_rate_metric_counts_the_increase_over_the_last_minute) {
  alarm_config c{"dlq-rate",
                 "queue:orders",
                 "dead_lettered_per_minute",
                 5,
                 0,
                 "alerts",
                 1'000,
                 {},
                 false,
                 60'000,
                 {}};
  alarm_state a{c};
  EXPECT_FALSE(a.observe(start, 100)) << "the first reading is the baseline";
  EXPECT_FALSE(a.observe(start + 30'000, 104));
  auto fired = a.observe(start + 40'000, 106);
  ASSERT_TRUE(fired);
  EXPECT_EQ(fired->value, 6);
  auto resolved = a.observe(start + 200'000, 106);
  ASSERT_TRUE(resolved) << "no dead letters in the last minute";
  EXPECT_FALSE(resolved->firing);
}

TEST(alarm_state, a_counter_counts_its_increase_over_the_alarm_window) {
  alarm_config c{"sent", "queue:orders", "sent", 9, 0, "alerts", 1'000, {}, false, 300'000, {}};
  alarm_state a{c};
  EXPECT_FALSE(a.observe(start, 0));
  EXPECT_FALSE(a.observe(start + 100'000, 5));
  auto fired = a.observe(start + 200'000, 10);
  ASSERT_TRUE(fired) << "ten sends within five minutes";
  EXPECT_NE(fired->text.find("sent in the last 5m is 10"), std::string::npos) << fired->text;
  EXPECT_FALSE(a.observe(start + 299'000, 10)) << "still within the window";
  auto resolved = a.observe(start + 501'000, 10);
  ASSERT_TRUE(resolved) << "none in the last five minutes";
  EXPECT_FALSE(resolved->firing);
}

TEST(alarm_state, a_below_alarm_on_a_counter_waits_for_a_whole_window) {
  alarm_config c{"quiet", "queue:orders", "sent", 1, 0, "alerts", 1'000, {}, true, 60'000, {}};
  alarm_state a{c};
  EXPECT_FALSE(a.observe(start, 10)) << "no window seen yet: not known to be quiet";
  EXPECT_FALSE(a.observe(start + 59'000, 10));
  auto fired = a.observe(start + 60'000, 10);
  ASSERT_TRUE(fired) << "a whole minute without a send";
  EXPECT_TRUE(fired->firing);
}

TEST(alarm_state, cloudwatch_comparisons_round_in_cloudwatch_units) {
  using mailroom::cloudwatch_comparison;
  // Counts (scale 1): v > 5, v >= 2.5 is v > 2, v < 1, v <= 1 is v < 2.
  EXPECT_EQ(cloudwatch_comparison("GreaterThanThreshold", 5, 1), std::make_pair(false, 5.0));
  EXPECT_EQ(cloudwatch_comparison("GreaterThanOrEqualToThreshold", 2.5, 1),
            std::make_pair(false, 2.0));
  EXPECT_EQ(cloudwatch_comparison("LessThanThreshold", 1, 1), std::make_pair(true, 1.0));
  EXPECT_EQ(cloudwatch_comparison("LessThanOrEqualToThreshold", 1, 1), std::make_pair(true, 2.0));
  // An age in seconds, read in ms: "<= 5 s" holds up to 5999 ms, "> 0 s" from 1000 ms.
  EXPECT_EQ(cloudwatch_comparison("LessThanOrEqualToThreshold", 5, 1000),
            std::make_pair(true, 6000.0));
  EXPECT_EQ(cloudwatch_comparison("GreaterThanThreshold", 0, 1000), std::make_pair(false, 999.0));
  EXPECT_EQ(cloudwatch_comparison("GreaterThanOrEqualToThreshold", 5, 1000),
            std::make_pair(false, 4999.0));
  EXPECT_FALSE(cloudwatch_comparison("LessThanLowerOrGreaterThanUpperThreshold", 1, 1));
}

TEST(alarm_state, a_below_alarm_fires_under_its_threshold) {
  alarm_config c{"idle", "queue:orders", "visible", 1, 10'000, "alerts", 1'000,
                 {},     true,           60'000,    {}};
  alarm_state a{c};
  EXPECT_FALSE(a.observe(start, 5));
  EXPECT_FALSE(a.observe(start + 1'000, 0)) << "below, but not yet for 10 s";
  auto fired = a.observe(start + 11'000, 0);
  ASSERT_TRUE(fired);
  EXPECT_NE(fired->text.find("is 0, below 1 for 10s"), std::string::npos) << fired->text;
  EXPECT_FALSE(a.observe(start + 12'000, 1)) << "at the threshold is not below it";
  EXPECT_TRUE(a.observe(start + 22'000, 1));
}

TEST(alarm_state, a_cloudwatch_alarm_resolves_to_its_ok_topic_only) {
  auto c = dlq_depth();
  EXPECT_EQ(c.topic_for(false), "alerts") << "Mailroom's alarms resolve where they fire";
  c.cloudwatch = "{}";
  EXPECT_EQ(c.topic_for(true), "alerts");
  EXPECT_EQ(c.topic_for(false), "") << "no OKActions: OK goes nowhere";
  c.ok_topic = "recovered";
  EXPECT_EQ(c.topic_for(false), "recovered");
  EXPECT_FALSE(validate(c));
  c.cloudwatch.clear();
  EXPECT_NE(message_of(validate(c)).find("an OK topic is for CloudWatch alarms"),
            std::string::npos);
}

TEST(alarm_state, bad_alarms_are_refused_naming_the_field) {
  auto bad = [](auto change) {
    auto c = dlq_depth();
    change(c);
    return message_of(validate(c));
  };
  EXPECT_NE(bad([](alarm_config& c) { c.entity = "orders"; }).find("not queue:NAME or sink:NAME"),
            std::string::npos);
  EXPECT_NE(bad([](alarm_config& c) { c.metric = "visible"; }).find("one of a sink's"),
            std::string::npos);
  EXPECT_NE(bad([](alarm_config& c) { c.threshold = std::nan(""); }).find("finite"),
            std::string::npos);
  EXPECT_NE(bad([](alarm_config& c) { c.window_ms = 10; }).find("window 10ms is outside 1s..24h"),
            std::string::npos);
  EXPECT_NE(bad([](alarm_config& c) { c.topic = ""; }).find("topic name"), std::string::npos);
}

TEST(alarm_config_file, alarms_are_declared_in_toml) {
  auto c = parse_config(R"(
[alarms.dlq-depth]
entity = "sink:orders-dlq"
metric = "depth"
threshold = 10
for = "1m"
topic = "alerts"
)",
                        "a.toml");
  ASSERT_TRUE(c) << message_of(c.error());
  ASSERT_EQ(c->alarms.size(), 1u);
  EXPECT_EQ(c->alarms[0], dlq_depth());
  auto missing = parse_config("[alarms.x]\nentity = \"queue:q\"\nmetric = \"visible\"\n", "a.toml");
  ASSERT_FALSE(missing);
  EXPECT_EQ(message_of(missing.error()), "a.toml: alarm 'x': threshold is required");
}

class alarm_node_test : public node_test {};

TEST_F(alarm_node_test, an_alarm_publishes_an_alert_then_a_resolve_to_its_topic) {
  auto orders = config("orders");
  open({orders, config("alert-inbox")});
  ASSERT_FALSE(node_->create_topic({"alerts", {{"alert-inbox", "", false, true, ""}}}));
  alarm_config c{"backlog", "queue:orders", "visible", 2, 5'000, "alerts", 10,
                 {},        false,          60'000,    {}};
  ASSERT_FALSE(node_->put_alarm(c));
  ASSERT_TRUE(node_->send("orders", bodies({"a", "b", "c"})));
  advance(10); // the next check (every 10 ms)
  ASSERT_TRUE(eventually([&] { return node_->alarm_state_of("backlog")->value == 3; }));
  advance(5'000); // the check after the alarm's duration
  ASSERT_TRUE(eventually([&] { return node_->alarm_state_of("backlog")->firing; }));
  auto alert = node_->receive("alert-inbox", {10, 1'000, -1});
  ASSERT_EQ(alert->size(), 1u);
  EXPECT_NE((*alert)[0].message->body.find("visible is 3, above 2"), std::string::npos)
      << (*alert)[0].message->body;
  EXPECT_EQ((*alert)[0].message->attributes[1], (attribute{"state", "ALARM"}));
  node_->purge("orders");
  advance(10);
  ASSERT_TRUE(eventually([&] { return node_->alarm_state_of("backlog")->value == 0; }));
  advance(5'000);
  ASSERT_TRUE(eventually([&] { return !node_->alarm_state_of("backlog")->firing; }));
  auto resolve = node_->receive("alert-inbox", {10, 1'000, -1});
  ASSERT_EQ(resolve->size(), 1u);
  EXPECT_NE((*resolve)[0].message->body.find("resolved"), std::string::npos);

  reopen();
  EXPECT_EQ(node_->alarm_names(), (std::vector<std::string>{"backlog"})) << "journaled";
  auto no_topic = c;
  no_topic.topic = "nope";
  EXPECT_EQ(code_of(node_->put_alarm(no_topic)), errc::not_found);
}

TEST(cloudwatch_message, a_state_change_is_cloudwatchs_sns_message) {
  alarm_config c{
      "backlog",
      "queue:orders",
      "visible",
      5,
      10'000,
      "alerts",
      1'000,
      R"({"AlarmDescription":"piles up","MetricName":"ApproximateNumberOfMessagesVisible",
                     "Namespace":"AWS/SQS","QueueName":"orders","Statistic":"Maximum","Period":10,
                     "EvaluationPeriods":1,"Threshold":5,"ComparisonOperator":"GreaterThanThreshold",
                     "Region":"eu-west-1"})",
      false,
      60'000,
      {}};
  auto m = cloudwatch_state_change(c, {true, 7, "visible is 7, above 5"}, 1704067200123);
  EXPECT_EQ(m.subject, "ALARM: \"backlog\" in eu-west-1");
  auto body = nlohmann::json::parse(m.body);
  EXPECT_EQ(body["NewStateValue"], "ALARM");
  EXPECT_EQ(body["OldStateValue"], "OK");
  EXPECT_EQ(body["NewStateReason"], "visible is 7, above 5");
  EXPECT_EQ(body["StateChangeTime"], "2024-01-01T00:00:00.123+0000");
  EXPECT_EQ(body["AlarmArn"], "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:backlog");
  EXPECT_EQ(body["Trigger"]["Dimensions"][0]["value"], "orders");
  EXPECT_EQ(body["Trigger"]["Threshold"], 5);
  EXPECT_TRUE(m.attributes.empty());
  auto ok = cloudwatch_state_change(c, {false, 0, "resolved"}, 0);
  EXPECT_EQ(ok.subject, "OK: \"backlog\" in eu-west-1");
}
