// The catalog conformance suite: creating, reconfiguring, listing, describing and deleting
// queues, topics, routers and alarms through the embedded node and through the remote client,
// with the same answers and the same errors on both.
#include "faces.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

namespace mailroom::test {
namespace {

using catalog_conformance = faces_test;

std::vector<std::string> sorted(caf::expected<std::vector<std::string>> names) {
  EXPECT_TRUE(names) << message_of(names.error());
  auto out = names ? *names : std::vector<std::string>{};
  std::sort(out.begin(), out.end());
  return out;
}

TEST_P(catalog_conformance, a_queue_is_created_once_reconfigured_by_put_described_and_deleted) {
  auto q = queue("jobs");
  q.dead_letter_target = "jobs-dead";
  q.max_receive_count = 3;
  ASSERT_FALSE(cat().create_queue(q));
  EXPECT_FALSE(cat().create_queue(q)) << "the same configuration again is fine";
  auto other = q;
  other.visibility_timeout_ms = 60'000;
  auto refused = cat().create_queue(other);
  EXPECT_EQ(code_of(refused), errc::already_exists);
  EXPECT_EQ(message_of(refused), "queue 'jobs' exists with another configuration");
  auto elsewhere = other;
  elsewhere.dead_letter_target = "never-made";
  EXPECT_EQ(code_of(cat().create_queue(elsewhere)), errc::already_exists);
  EXPECT_FALSE(node_->dead_letter_sink("never-made")) << "a refused create made its sink";
  auto described = cat().queue_configuration("jobs");
  ASSERT_TRUE(described) << message_of(described.error());
  EXPECT_EQ(*described, q);
  EXPECT_EQ(sorted(cat().list_queues()), (std::vector<std::string>{"jobs", "orders"}));

  ASSERT_FALSE(cat().put_queue(other));
  EXPECT_EQ(cat().queue_configuration("jobs")->visibility_timeout_ms, 60'000);
  auto fifo = other;
  fifo.fifo = true;
  EXPECT_EQ(code_of(cat().put_queue(fifo)), errc::invalid_argument);
  auto zero = other; // zero is a value like any other, not "the default", on every face
  zero.retention_ms = 0;
  EXPECT_EQ(code_of(cat().put_queue(zero)), errc::invalid_argument);
  EXPECT_TRUE(node_->dead_letter_sink("jobs-dead")) << "its dead-letter target was created";

  ASSERT_FALSE(cat().delete_queue("jobs"));
  auto gone = cat().queue_configuration("jobs");
  ASSERT_FALSE(gone);
  EXPECT_EQ(code_of(gone.error()), errc::unknown_queue);
  EXPECT_EQ(message_of(gone.error()), "no queue named 'jobs'");
  EXPECT_EQ(code_of(cat().delete_queue("jobs")), errc::unknown_queue);
}

TEST_P(catalog_conformance, a_bad_queue_configuration_is_refused_naming_the_field) {
  auto q = queue("bad");
  q.visibility_timeout_ms = 0;
  auto err = cat().create_queue(q);
  EXPECT_EQ(code_of(err), errc::invalid_argument);
  EXPECT_NE(message_of(err).find("queue 'bad': visibility timeout"), std::string::npos)
      << message_of(err);
  auto bad_name = queue("no spaces");
  auto refused = cat().create_queue(bad_name);
  EXPECT_EQ(code_of(refused), errc::invalid_argument) << message_of(refused);
  EXPECT_EQ(sorted(cat().list_queues()), (std::vector<std::string>{"orders"}));
}

TEST_P(catalog_conformance, topics_subscriptions_and_their_errors) {
  ASSERT_FALSE(cat().create_queue(queue("billing")));
  topic_config t{"events", {{"billing", R"({"kind":["paid"]})", false, true, "billing-dlq"}}};
  ASSERT_FALSE(cat().create_topic(t));
  EXPECT_FALSE(cat().create_topic(t));
  EXPECT_EQ(code_of(cat().create_topic({"events", {}})), errc::already_exists);
  auto described = cat().topic_configuration("events");
  ASSERT_TRUE(described) << message_of(described.error());
  EXPECT_EQ(*described, t);
  EXPECT_EQ(sorted(cat().list_topics()), (std::vector<std::string>{"events"}));

  ASSERT_FALSE(cat().subscribe("events", {"orders", "", false, false, ""}));
  EXPECT_FALSE(cat().subscribe("events", {"orders", "", false, false, ""}));
  EXPECT_EQ(code_of(cat().subscribe("events", {"orders", "", false, true, ""})),
            errc::already_exists);
  auto missing_queue = cat().subscribe("events", {"nowhere", "", false, false, ""});
  EXPECT_EQ(code_of(missing_queue), errc::unknown_queue);
  EXPECT_NE(message_of(missing_queue).find("no queue named 'nowhere'"), std::string::npos)
      << message_of(missing_queue);
  ASSERT_FALSE(cat().create_queue(queue("audit")));
  auto bad_policy = cat().subscribe("events", {"audit", "{not json", false, false, ""});
  EXPECT_EQ(code_of(bad_policy), errc::invalid_argument);
  EXPECT_EQ(cat().topic_configuration("events")->subscriptions.size(), 2u);

  ASSERT_FALSE(cat().unsubscribe("events", "orders"));
  EXPECT_EQ(code_of(cat().unsubscribe("events", "orders")), errc::not_found);
  ASSERT_FALSE(cat().delete_queue("billing")); // leaves the topic without its subscription
  EXPECT_TRUE(cat().topic_configuration("events")->subscriptions.empty());

  ASSERT_FALSE(cat().delete_topic("events"));
  auto gone = cat().topic_configuration("events");
  ASSERT_FALSE(gone);
  EXPECT_EQ(code_of(gone.error()), errc::not_found);
  EXPECT_EQ(message_of(gone.error()), "no topic named 'events'");
  EXPECT_EQ(code_of(cat().subscribe("events", {"orders", "", false, false, ""})), errc::not_found);
}

TEST_P(catalog_conformance, routers_are_put_described_listed_and_deleted_and_loops_refused) {
  router_config r{"by-kind",
                  {{R"({"kind":["a"]})", false, {route_target::kind::queue, "orders"}}},
                  false,
                  std::nullopt,
                  ""};
  ASSERT_FALSE(cat().put_router(r));
  auto described = cat().router_configuration("by-kind");
  ASSERT_TRUE(described) << message_of(described.error());
  EXPECT_EQ(*described, r);
  EXPECT_TRUE(node_->dead_letter_sink("by-kind-unroutable")) << "its sink was created";
  r.all_match = true;
  ASSERT_FALSE(cat().put_router(r));
  EXPECT_TRUE(cat().router_configuration("by-kind")->all_match);

  router_config back{"back", {}, false, route_target{route_target::kind::router, "by-kind"}, ""};
  ASSERT_FALSE(cat().put_router(back));
  r.fallback = route_target{route_target::kind::router, "back"};
  auto loop = cat().put_router(r);
  EXPECT_EQ(code_of(loop), errc::invalid_argument);
  EXPECT_NE(message_of(loop).find("routers form a loop"), std::string::npos) << message_of(loop);
  auto missing =
      cat().put_router({"x", {}, false, route_target{route_target::kind::topic, "no"}, ""});
  EXPECT_EQ(code_of(missing), errc::not_found);
  EXPECT_EQ(message_of(missing), "router 'x': target 'topic:no' does not exist");
  EXPECT_EQ(sorted(cat().list_routers()), (std::vector<std::string>{"back", "by-kind"}));

  ASSERT_FALSE(cat().delete_router("back"));
  EXPECT_EQ(code_of(cat().delete_router("back")), errc::not_found);
  EXPECT_EQ(code_of(cat().router_configuration("back").error()), errc::not_found);
}

TEST_P(catalog_conformance, alarms_are_put_described_with_their_state_and_deleted) {
  ASSERT_FALSE(cat().create_topic({"alerts", {}}));
  alarm_config a{"backlog", "queue:orders", "visible", 100, 60'000, "alerts", 1'000,
                 {},        false,          60'000,    {}};
  ASSERT_FALSE(cat().put_alarm(a));
  auto described = cat().alarm_configuration("backlog");
  ASSERT_TRUE(described) << message_of(described.error());
  EXPECT_EQ(*described, a);
  auto state = cat().alarm_state_of("backlog");
  ASSERT_TRUE(state) << message_of(state.error());
  EXPECT_FALSE(state->firing);
  a.threshold = 5;
  ASSERT_FALSE(cat().put_alarm(a));
  EXPECT_EQ(cat().alarm_configuration("backlog")->threshold, 5);
  auto no_topic = a;
  no_topic.name = "other";
  no_topic.topic = "nowhere";
  EXPECT_EQ(code_of(cat().put_alarm(no_topic)), errc::not_found);
  auto nan = a;
  nan.threshold = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(code_of(cat().put_alarm(nan)), errc::invalid_argument);
  EXPECT_EQ(sorted(cat().list_alarms()), (std::vector<std::string>{"backlog"}));

  ASSERT_FALSE(cat().delete_alarm("backlog"));
  EXPECT_EQ(code_of(cat().alarm_state_of("backlog").error()), errc::not_found);
  EXPECT_EQ(message_of(cat().alarm_configuration("backlog").error()), "no alarm named 'backlog'");
}

INSTANTIATE_FACES(catalog_conformance);

} // namespace
} // namespace mailroom::test
