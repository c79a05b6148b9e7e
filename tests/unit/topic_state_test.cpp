// Fan-out rules without actors: which subscriptions a message reaches and what each copy holds.
#include "topic/topic_state.hpp"

#include "mailroom/error.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace mailroom;

namespace {

constexpr int64_t t0 = 1'700'000'000'123;

outgoing_message msg(std::string body, attribute_list attributes = {}) {
  outgoing_message m;
  m.body = std::move(body);
  m.attributes = std::move(attributes);
  return m;
}

subscription sub(std::string queue, std::string policy = {}, bool raw = true) {
  subscription s;
  s.queue = std::move(queue);
  s.filter_policy = std::move(policy);
  s.raw = raw;
  return s;
}

topic_state topic(std::vector<subscription> subs) {
  auto t = topic_state::make({"orders", std::move(subs)});
  EXPECT_TRUE(t) << message_of(t.error());
  return std::move(*t);
}

} // namespace

TEST(topic_state, every_subscription_without_a_policy_gets_every_message) {
  auto t = topic({sub("a"), sub("b"), sub("c")});
  auto plan = t.route({msg("x"), msg("y")}, t0);
  ASSERT_EQ(plan.ids.size(), 2u);
  ASSERT_EQ(plan.batches.size(), 3u);
  for (const auto& b : plan.batches) {
    ASSERT_EQ(b.messages.size(), 2u);
    EXPECT_EQ(b.messages[0].body, "x");
    EXPECT_EQ(b.messages[1].body, "y");
  }
  EXPECT_EQ(plan.unmatched, 0u);
}

TEST(topic_state, filter_policies_pick_subscriptions_and_unmatched_messages_are_counted) {
  auto t = topic(
      {sub("eu", R"({"region": ["eu"]})"), sub("big", R"({"amount": [{"numeric": [">", 100]}]})")});
  auto plan = t.route({msg("1", {{"region", "eu"}, {"amount", "5"}}),
                       msg("2", {{"region", "us"}, {"amount", "500"}}),
                       msg("3", {{"region", "us"}, {"amount", "1"}})},
                      t0);
  ASSERT_EQ(plan.batches.size(), 2u);
  EXPECT_EQ(plan.batches[0].target.queue, "eu");
  ASSERT_EQ(plan.batches[0].messages.size(), 1u);
  EXPECT_EQ(plan.batches[0].messages[0].body, "1");
  EXPECT_EQ(plan.batches[1].target.queue, "big");
  ASSERT_EQ(plan.batches[1].messages.size(), 1u);
  EXPECT_EQ(plan.batches[1].messages[0].body, "2");
  EXPECT_EQ(plan.unmatched, 1u);
}

TEST(topic_state, body_policies_look_at_json_fields) {
  auto s = sub("shipped", R"({"order": {"status": ["shipped"]}})");
  s.filter_on_body = true;
  auto t = topic({s});
  auto plan = t.route({msg(R"({"order": {"status": "shipped"}})"),
                       msg(R"({"order": {"status": "new"}})"), msg("not json")},
                      t0);
  ASSERT_EQ(plan.batches.size(), 1u);
  EXPECT_EQ(plan.batches[0].messages.size(), 1u);
  EXPECT_EQ(plan.unmatched, 2u);
}

TEST(topic_state, copies_are_caused_by_the_publish_and_keep_the_producers_correlation) {
  auto t = topic({sub("a")});
  auto with_correlation = msg("x");
  with_correlation.correlation_id = "order-7";
  with_correlation.dedup_id = "d1";
  auto plan = t.route({with_correlation, msg("y")}, t0);
  const auto& copies = plan.batches[0].messages;
  EXPECT_EQ(copies[0].causation_id, plan.ids[0]);
  EXPECT_EQ(copies[0].correlation_id, "order-7");
  EXPECT_EQ(copies[0].dedup_id, "d1");
  EXPECT_EQ(copies[1].causation_id, plan.ids[1]);
  EXPECT_EQ(copies[1].correlation_id, plan.ids[1]) << "a fan-out is its own correlation";
  EXPECT_EQ(copies[1].sent_at_us, t0 * 1000);
}

TEST(topic_state, enveloped_delivery_wraps_the_body_in_an_sns_notification) {
  auto t = topic({sub("a", {}, /*raw=*/false), sub("b", {}, /*raw=*/true)});
  auto published = msg("hello \"world\"", {{"kind", "greeting"}, {"n", "5", "Number"}});
  published.subject = "Greeting";
  auto plan = t.route({published}, t0, {"eu-west-1", "210987654321"});
  const auto& copy = plan.batches[0].messages[0];
  auto n = nlohmann::ordered_json::parse(copy.body);
  std::vector<std::string> fields;
  for (const auto& [k, v] : n.items())
    fields.push_back(k);
  EXPECT_EQ(fields,
            (std::vector<std::string>{"Type", "MessageId", "TopicArn", "Subject", "Message",
                                      "Timestamp", "SignatureVersion", "Signature",
                                      "SigningCertURL", "UnsubscribeURL", "MessageAttributes"}));
  EXPECT_EQ(n["Type"], "Notification");
  EXPECT_EQ(n["MessageId"], plan.ids[0]);
  EXPECT_EQ(n["TopicArn"], "arn:aws:sns:eu-west-1:210987654321:orders");
  EXPECT_EQ(n["Subject"], "Greeting");
  EXPECT_EQ(n["Message"], "hello \"world\"");
  EXPECT_EQ(n["Timestamp"], "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(n["MessageAttributes"]["kind"]["Type"], "String");
  EXPECT_EQ(n["MessageAttributes"]["kind"]["Value"], "greeting");
  EXPECT_EQ(n["MessageAttributes"]["n"]["Type"], "Number");
  // The attributes are the notification's: the enveloped copy carries none of its own (SNS),
  // the raw one carries them as its own.
  EXPECT_TRUE(copy.attributes.empty());
  EXPECT_EQ(plan.batches[1].messages[0].attributes, published.attributes);
}

TEST(topic_state, a_notification_without_subject_or_attributes_leaves_them_out) {
  auto t = topic({sub("a", {}, /*raw=*/false)});
  auto n = nlohmann::json::parse(t.route({msg("x")}, t0).batches[0].messages[0].body);
  EXPECT_FALSE(n.contains("Subject"));
  EXPECT_FALSE(n.contains("MessageAttributes"));
  EXPECT_EQ(n["TopicArn"], "arn:aws:sns:us-east-1:123456789012:orders");
}

TEST(topic_state, an_enveloped_body_that_is_not_utf8_is_still_delivered) {
  auto t = topic({sub("a", {}, /*raw=*/false)});
  auto plan = t.route({msg(std::string("\xff\xfe", 2))}, t0);
  auto n = nlohmann::json::parse(plan.batches[0].messages[0].body);
  EXPECT_FALSE(n["Message"].get<std::string>().empty());
}

TEST(topic_state, bad_configurations_are_refused_naming_the_subscription) {
  auto refused = [](topic_config c) {
    auto t = topic_state::make(std::move(c));
    EXPECT_FALSE(t);
    return t ? std::string{} : message_of(t.error());
  };
  EXPECT_NE(refused({"orders", {sub("a", "{not json")}}).find("subscription 'a'"),
            std::string::npos);
  EXPECT_NE(refused({"orders", {sub("a"), sub("a")}}).find("subscribed twice"), std::string::npos);
  EXPECT_NE(refused({"bad name!", {}}).find("topic name"), std::string::npos);
  EXPECT_NE(refused({"orders", {sub("no/slash")}}).find("queue name"), std::string::npos);
}

// Issue 9, bug 8: invalid UTF-8 in a body became U+FFFD in the SNS-style notification.
TEST(topic_notification, a_binary_body_is_carried_as_base64_and_says_so) {
  std::string body{"\xFF\x00\xFE", 3};
  outgoing_message m;
  m.body = body;
  m.attributes = {{"k", std::string{"\xC0", 1}}};
  auto n = nlohmann::json::parse(mailroom::notification_json({}, "t", "m-1", 0, m));
  EXPECT_EQ(n["Message"], "/wD+");
  EXPECT_EQ(n["MessageEncoding"], "base64");
  EXPECT_EQ(n["MessageAttributes"]["k"]["Type"], "Binary");
  EXPECT_EQ(n["MessageAttributes"]["k"]["Value"], "wA==");
  outgoing_message utf8;
  utf8.body = "h\xC3\xA9";
  auto text = nlohmann::json::parse(mailroom::notification_json({}, "t", "m-2", 0, utf8));
  EXPECT_EQ(text["Message"], "h\xC3\xA9");
  EXPECT_FALSE(text.contains("MessageEncoding"));
}
