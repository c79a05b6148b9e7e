// Topics on a real node: fan-out into durable queues, filters, subscription management,
// sinks for copies a queue refuses, recovery. Crash atomicity is in tests/integration.
#include "codec.hpp"
#include "journal.hpp"
#include "mailroom/protocol.hpp"
#include "mailroom/service.hpp"
#include "journal_peek.hpp"
#include "node_fixture.hpp"

#include <nlohmann/json.hpp>

#include <mutex>

using namespace mailroom;

namespace {

class topic_test : public node_test {
protected:
  void SetUp() override {
    open();
    for (auto name : {"billing", "shipping", "audit"})
      ASSERT_FALSE(node_->create_queue(config(name)));
  }

  static subscription raw(std::string queue, std::string policy = {}) {
    subscription s;
    s.queue = std::move(queue);
    s.filter_policy = std::move(policy);
    s.raw = true;
    return s;
  }

  static outgoing_message msg(std::string body, attribute_list attributes = {}) {
    outgoing_message m;
    m.body = std::move(body);
    m.attributes = std::move(attributes);
    return m;
  }

  std::vector<std::string> drain(const std::string& queue) {
    std::vector<std::string> bodies;
    auto got = node_->receive(queue, {100, 0, -1});
    EXPECT_TRUE(got) << message_of(got.error());
    for (const auto& d : *got) {
      bodies.push_back(d.message->body);
      node_->ack(queue, {d.receipt});
    }
    return bodies;
  }
};

using strings = std::vector<std::string>;

} // namespace

TEST_F(topic_test, a_publish_reaches_every_subscriber_queue) {
  ASSERT_FALSE(node_->create_topic({"orders", {raw("billing"), raw("shipping")}}));
  auto r = node_->publish("orders", {msg("o1"), msg("o2")});
  ASSERT_TRUE(r) << message_of(r.error());
  EXPECT_EQ(r->ids.size(), 2u);
  EXPECT_EQ(r->deliveries, 4u);
  EXPECT_EQ(drain("billing"), (strings{"o1", "o2"}));
  EXPECT_EQ(drain("shipping"), (strings{"o1", "o2"}));
  EXPECT_TRUE(drain("audit").empty());
  auto s = node_->topic_statistics("orders");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->published, 2u);
  EXPECT_EQ(s->deliveries, 4u);
  EXPECT_EQ(s->subscriptions, 2u);
}

TEST_F(topic_test, filters_choose_subscribers_and_unmatched_messages_are_counted_not_refused) {
  ASSERT_FALSE(node_->create_topic(
      {"orders",
       {raw("billing", R"({"kind": ["paid"]})"), raw("shipping", R"({"kind": ["packed"]})")}}));
  auto r = node_->publish("orders", {msg("a", {{"kind", "paid"}}), msg("b", {{"kind", "packed"}}),
                                     msg("c", {{"kind", "lost"}})});
  ASSERT_TRUE(r) << message_of(r.error());
  EXPECT_EQ(r->unmatched, 1u);
  EXPECT_EQ(drain("billing"), (strings{"a"}));
  EXPECT_EQ(drain("shipping"), (strings{"b"}));
}

TEST_F(topic_test, a_delivered_copy_carries_lineage_and_the_notification_envelope) {
  subscription enveloped;
  enveloped.queue = "audit";
  ASSERT_FALSE(node_->create_topic({"orders", {enveloped}}));
  auto r = node_->publish("orders", {msg("o1", {{"k", "v"}})});
  ASSERT_TRUE(r);
  auto got = node_->receive("audit", {1, 0, -1});
  ASSERT_EQ(got->size(), 1u);
  const auto& e = *(*got)[0].message;
  EXPECT_EQ(e.causation_id, r->ids[0]);
  EXPECT_EQ(e.correlation_id, r->ids[0]);
  auto n = nlohmann::json::parse(e.body);
  EXPECT_EQ(n["Message"], "o1");
  EXPECT_EQ(n["MessageId"], r->ids[0]);
}

// Issue 11: every subscriber's segment held its own copy of each body, in memory and in the WAL.
TEST_F(topic_test, a_publish_journals_what_its_copies_share_once_and_frees_it_with_the_last) {
  subscription enveloped;
  enveloped.queue = "audit";
  ASSERT_FALSE(node_->create_topic(
      {"orders", {raw("billing"), raw("shipping", R"({"kind": ["packed"]})"), enveloped}}));
  std::vector<outgoing_message> batch;
  for (auto kind : {"paid", "packed", "lost"})
    batch.push_back(msg(std::string("order-body-") + kind, {{"kind", kind}}));
  auto r = node_->publish("orders", batch);
  ASSERT_TRUE(r) << message_of(r.error());
  EXPECT_EQ(r->deliveries, 7u);
  auto count = [&](const std::string& sql) {
    return test::journal_scalar(dir.path() + "/journal.db", sql);
  };
  EXPECT_EQ(count("SELECT count(*) FROM publications"), 2) << "one per body form";
  EXPECT_EQ(count("SELECT count(*) FROM segments WHERE publication IS NOT NULL"), 3);
  EXPECT_EQ(count("SELECT count(*) FROM segments WHERE instr(messages, 'order-body') > 0"), 0)
      << "no segment holds a body";
  EXPECT_EQ(count("SELECT count(*) FROM publications WHERE instr(messages, 'order-body-packed')"),
            2)
      << "the raw body once, and once inside its notification";

  queue_cache_bytes = 1; // every body read back from the journal
  reopen();
  EXPECT_EQ(drain("billing"), (strings{"order-body-paid", "order-body-packed", "order-body-lost"}));
  auto shipped = node_->receive("shipping", {10, 0, -1});
  ASSERT_TRUE(shipped);
  ASSERT_EQ(shipped->size(), 1u);
  const auto& copy = *(*shipped)[0].message;
  EXPECT_EQ(copy.body, "order-body-packed");
  EXPECT_EQ(copy.queue, "shipping");
  EXPECT_EQ(copy.causation_id, r->ids[1]);
  ASSERT_NE(copy.attribute("kind"), nullptr);
  EXPECT_EQ(*copy.attribute("kind"), "packed");
  auto acked = node_->ack("shipping", {(*shipped)[0].receipt});
  ASSERT_TRUE(acked);
  EXPECT_TRUE(acked->at(0).error_code.empty()) << acked->at(0).error_message;
  auto audited = drain("audit");
  ASSERT_EQ(audited.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(audited[2])["Message"], "order-body-lost");
  EXPECT_EQ(nlohmann::json::parse(audited[2])["MessageId"], r->ids[2]);
  EXPECT_EQ(count("SELECT count(*) FROM publications"), 0) << "freed with the last copy acked";
  EXPECT_EQ(count("SELECT count(*) FROM segments"), 0);
}

TEST_F(topic_test, rows_a_deleted_queue_left_behind_are_dropped_at_open_with_their_publication) {
  // As if the queue "gone" had committed a publish's copy after it was deleted.
  auto& log = node_->journal_internal();
  auto id = log.new_publication_id();
  write_batch late;
  late.put_publication(id, codec::encode_publication({msg("orphaned body")}));
  late.put_segment("gone", 1, 1, clock->now_ms(), id, "own part");
  late.append_events("gone", 1, "events");
  ASSERT_FALSE(log.write(std::move(late)));
  ASSERT_TRUE(node_->send("billing", {msg("kept")}));
  auto count = [&](const std::string& sql) {
    return test::journal_scalar(dir.path() + "/journal.db", sql);
  };
  EXPECT_EQ(count("SELECT count(*) FROM publications"), 1);
  reopen();
  EXPECT_EQ(count("SELECT count(*) FROM segments WHERE queue = 'gone'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM segment_events WHERE queue = 'gone'"), 0);
  EXPECT_EQ(count("SELECT count(*) FROM publications"), 0);
  EXPECT_EQ(drain("billing"), (strings{"kept"})) << "a queue in the catalog keeps its rows";
}

TEST_F(topic_test, a_queue_that_refuses_fails_the_whole_publish_and_no_subscriber_gets_it) {
  auto small = config("small");
  small.max_message_bytes = 4;
  ASSERT_FALSE(node_->create_queue(small));
  ASSERT_FALSE(node_->create_topic({"orders", {raw("billing"), raw("small")}}));
  auto r = node_->publish("orders", {msg("too long for small")});
  ASSERT_FALSE(r);
  EXPECT_EQ(code_of(r.error()), errc::message_too_large);
  EXPECT_NE(message_of(r.error()).find("subscription 'small'"), std::string::npos)
      << message_of(r.error());
  EXPECT_TRUE(drain("billing").empty()) << "all or nothing";
  auto ok = node_->publish("orders", {msg("ok")});
  ASSERT_TRUE(ok) << message_of(ok.error());
  EXPECT_EQ(drain("billing"), (strings{"ok"}));
}

TEST_F(topic_test, a_subscription_with_a_sink_dead_letters_what_its_queue_refuses) {
  auto small = config("small");
  small.max_message_bytes = 4;
  ASSERT_FALSE(node_->create_queue(small));
  auto s = raw("small");
  s.dead_letter_target = "orders-undeliverable";
  ASSERT_FALSE(node_->create_topic({"orders", {raw("billing"), s}}));
  auto r = node_->publish("orders", {msg("too long for small")});
  ASSERT_TRUE(r) << message_of(r.error());
  EXPECT_EQ(r->deliveries, 1u);
  EXPECT_EQ(r->dead_lettered, 1u);
  EXPECT_EQ(drain("billing"), (strings{"too long for small"}));
  ASSERT_TRUE(
      eventually([&] { return node_->dead_letters("orders-undeliverable", 10)->size() == 1; }));
  auto dead = (*node_->dead_letters("orders-undeliverable", 10))[0];
  EXPECT_EQ(dead.death.reason, "undeliverable");
  EXPECT_EQ(dead.death.source, "small");
  EXPECT_EQ(dead.message.causation_id, r->ids[0]);
  EXPECT_NE(dead.death.error.find("exceeds"), std::string::npos) << dead.death.error;

  reopen();
  EXPECT_EQ(node_->dead_letters("orders-undeliverable", 10)->size(), 1u) << "journaled";
}

TEST_F(topic_test, a_subscription_with_a_dead_letter_queue_hands_it_what_its_queue_refuses) {
  auto small = config("small");
  small.max_message_bytes = 4;
  ASSERT_FALSE(node_->create_queue(small));
  ASSERT_FALSE(node_->create_queue(config("small-dlq")));
  auto s = raw("small");
  s.dead_letter_queue = "small-dlq";
  ASSERT_FALSE(node_->create_topic({"orders", {raw("billing"), s}}));
  auto r = node_->publish("orders", {msg("too long for small")});
  ASSERT_TRUE(r) << message_of(r.error());
  EXPECT_EQ(r->deliveries, 1u);
  EXPECT_EQ(r->dead_lettered, 1u);
  EXPECT_EQ(drain("billing"), (strings{"too long for small"}));
  reopen();
  auto got = node_->receive("small-dlq", {10, 0, -1});
  ASSERT_EQ(got->size(), 1u) << "durable before the publish was confirmed";
  const auto& dead = *(*got)[0].message;
  EXPECT_EQ(dead.body, "too long for small");
  EXPECT_EQ(dead.causation_id, r->ids[0]);
  ASSERT_EQ(dead.history.size(), 1u);
  EXPECT_EQ(dead.history[0].reason, "undeliverable");
  EXPECT_EQ(dead.history[0].source, "small");

  // A dead-letter queue that is gone fails the publish, naming it, and no subscriber gets it.
  ASSERT_FALSE(node_->delete_queue("small-dlq"));
  auto failed = node_->publish("orders", {msg("also too long")});
  ASSERT_FALSE(failed);
  EXPECT_NE(message_of(failed.error()).find("dead-letter queue 'small-dlq' does not exist"),
            std::string::npos)
      << message_of(failed.error());
  EXPECT_TRUE(drain("billing").empty()) << "all or nothing";
}

TEST_F(topic_test, topics_and_subscriptions_survive_a_reopen) {
  ASSERT_FALSE(node_->create_topic({"orders", {}}));
  ASSERT_FALSE(node_->subscribe("orders", raw("billing", R"({"kind": ["paid"]})")));
  ASSERT_FALSE(node_->subscribe("orders", raw("shipping")));
  ASSERT_FALSE(node_->unsubscribe("orders", "shipping"));
  ASSERT_TRUE(node_->publish("orders", {msg("before", {{"kind", "paid"}})}));
  reopen();
  auto c = node_->topic_configuration("orders");
  ASSERT_TRUE(c);
  ASSERT_EQ(c->subscriptions.size(), 1u);
  EXPECT_EQ(c->subscriptions[0].queue, "billing");
  EXPECT_EQ(c->subscriptions[0].filter_policy, R"({"kind": ["paid"]})");
  ASSERT_TRUE(node_->publish("orders", {msg("after", {{"kind", "paid"}}), msg("no")}));
  EXPECT_EQ(drain("billing"), (strings{"before", "after"}));
}

TEST_F(topic_test, subscribing_the_same_queue_again_is_idempotent_but_not_with_other_settings) {
  ASSERT_FALSE(node_->create_topic({"orders", {}}));
  ASSERT_FALSE(node_->subscribe("orders", raw("billing")));
  ASSERT_FALSE(node_->subscribe("orders", raw("billing")));
  auto err = node_->subscribe("orders", raw("billing", R"({"a": ["b"]})"));
  EXPECT_EQ(code_of(err), errc::already_exists);
  EXPECT_EQ(node_->topic_configuration("orders")->subscriptions.size(), 1u);
}

TEST_F(topic_test, a_subscription_takes_a_sink_or_a_dead_letter_queue_not_both) {
  auto s = raw("billing");
  s.dead_letter_target = "sink";
  s.dead_letter_queue = "queue";
  auto err = node_->create_topic({"orders", {s}});
  ASSERT_TRUE(err);
  EXPECT_NE(message_of(err).find("not both"), std::string::npos) << message_of(err);
  s.dead_letter_target.clear();
  s.dead_letter_queue = "billing";
  EXPECT_TRUE(node_->create_topic({"orders", {s}})) << "not the subscribed queue itself";
}

TEST_F(topic_test, bad_input_is_refused_with_a_reason) {
  ASSERT_FALSE(node_->create_topic({"orders", {}}));
  auto bad_policy = node_->subscribe("orders", raw("billing", R"({"kind": "paid"})"));
  EXPECT_EQ(code_of(bad_policy), errc::invalid_argument);
  EXPECT_NE(message_of(bad_policy).find("filter policy"), std::string::npos)
      << message_of(bad_policy);
  auto no_queue = node_->subscribe("orders", raw("nope"));
  EXPECT_EQ(code_of(no_queue), errc::unknown_queue);
  EXPECT_NE(message_of(no_queue).find("'nope'"), std::string::npos);
  auto no_topic = node_->publish("nope", {msg("x")});
  ASSERT_FALSE(no_topic);
  EXPECT_EQ(message_of(no_topic.error()), "no topic named 'nope'");
  auto empty = node_->publish("orders", {});
  ASSERT_FALSE(empty);
  EXPECT_EQ(code_of(empty.error()), errc::invalid_argument);
  EXPECT_EQ(code_of(node_->unsubscribe("orders", "audit")), errc::not_found);
  EXPECT_EQ(code_of(node_->create_topic({"orders", {raw("billing")}})), errc::already_exists);
  EXPECT_TRUE(node_->topic_configuration("orders")->subscriptions.empty());
}

TEST_F(topic_test, deleting_a_queue_removes_its_subscriptions) {
  ASSERT_FALSE(node_->create_topic({"orders", {raw("billing"), raw("audit")}}));
  ASSERT_FALSE(node_->delete_queue("audit"));
  auto c = node_->topic_configuration("orders");
  ASSERT_EQ(c->subscriptions.size(), 1u);
  ASSERT_TRUE(node_->publish("orders", {msg("x")}));
  reopen();
  EXPECT_EQ(node_->topic_configuration("orders")->subscriptions.size(), 1u);
  ASSERT_FALSE(node_->delete_topic("orders"));
  EXPECT_FALSE(node_->topic_configuration("orders"));
  reopen();
  EXPECT_TRUE(node_->topic_names().empty());
}

class trace_test : public node_test {};

TEST_F(trace_test, each_message_of_a_batch_has_its_own_story_from_the_runs_journaled) {
  node_config c;
  c.data_dir = dir.path();
  c.log_level = "warn";
  c.trace = true;
  c.queues = {config("orders")};
  c.clock = clock;
  node_ = std::move(*node::open(std::move(c)));
  auto ids = node_->send("orders", bodies({"a", "b", "c", "d"}));
  ASSERT_TRUE(ids);
  auto got = node_->receive("orders", {4, 0, -1});
  ASSERT_EQ(got->size(), 4u);
  node_->ack("orders", {(*got)[0].receipt, (*got)[1].receipt, (*got)[2].receipt});
  node_.reset(); // the trace rows are in the journal, not in memory
  open();
  for (size_t i = 0; i < 4; ++i) {
    auto story = node_->trace((*ids)[i], 0);
    ASSERT_TRUE(story) << message_of(story.error());
    ASSERT_EQ(story->size(), 1u);
    std::vector<std::string> kinds;
    for (const auto& s : (*story)[0]) {
      kinds.push_back(s.kind);
      EXPECT_EQ(s.id, (*ids)[i]);
    }
    auto expected = i < 3 ? std::vector<std::string>{"sent", "delivered", "acked"}
                          : std::vector<std::string>{"sent", "delivered"};
    EXPECT_EQ(kinds, expected) << "message " << i;
  }
}

TEST_F(trace_test, a_message_story_shows_every_step_and_the_messages_it_caused) {
  node_config c;
  c.data_dir = dir.path();
  c.log_level = "warn";
  c.trace = true;
  auto orders = config("orders");
  orders.max_receive_count = 2;
  orders.dead_letter_target = "orders-dlq";
  c.queues = {orders, config("billing")};
  c.clock = clock;
  node_ = std::move(*node::open(std::move(c)));
  ASSERT_FALSE(node_->create_topic(
      {"events", {{"orders", "", false, true, ""}, {"billing", "", false, true, ""}}}));
  auto published = node_->publish("events", bodies({"o1"}));
  ASSERT_TRUE(published);
  auto got = node_->receive("orders", {1, 0, -1});
  ASSERT_EQ(got->size(), 1u);
  auto copy_id = (*got)[0].message->id;
  node_->nack("orders", {{(*got)[0].receipt, 0, "", "payment service down"}});
  got = node_->receive("orders", {1, 0, -1});
  node_->nack("orders", {{(*got)[0].receipt, 0, "", "still down"}});
  ASSERT_TRUE(eventually([&] { return node_->dead_letters("orders-dlq", 10)->size() == 1; }));
  ASSERT_TRUE(node_->redrive("orders-dlq", {}));
  got = node_->receive("orders", {1, 0, -1});
  ASSERT_EQ(got->size(), 1u);
  node_->ack("orders", {(*got)[0].receipt});

  auto story = node_->trace(copy_id, 0);
  ASSERT_TRUE(story) << message_of(story.error());
  std::vector<std::string> kinds;
  for (const auto& s : (*story)[0])
    kinds.push_back(s.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"sent", "delivered", "retried", "delivered",
                                             "dead_lettered", "redriven", "delivered", "acked"}));
  EXPECT_NE((*story)[0][2].detail.find("payment service down"), std::string::npos);
  EXPECT_EQ((*story)[0][0].causation_id, published->ids[0]);

  auto fan_out = node_->trace(published->ids[0]);
  ASSERT_TRUE(fan_out) << message_of(fan_out.error());
  ASSERT_EQ(fan_out->size(), 3u) << "the publish and the two copies it caused";
  EXPECT_EQ((*fan_out)[0][0].kind, "published");

  auto unknown = node_->trace("nope");
  ASSERT_FALSE(unknown);
  EXPECT_NE(message_of(unknown.error()).find("no trace of message 'nope'"), std::string::npos);
}

// Steps after `sent` name their message by its place in the queue (issue 11): a queue made
// again under the same name may number from the start, and one message's steps must not be
// told as another's.
TEST_F(trace_test, a_queue_made_again_does_not_mix_the_stories_of_its_messages) {
  node_config c;
  c.data_dir = dir.path();
  c.log_level = "warn";
  c.trace = true;
  c.clock = clock;
  node_ = std::move(*node::open(std::move(c)));
  auto consume = [&] {
    auto got = node_->receive("orders", {1, 0, -1});
    ASSERT_EQ(got->size(), 1u);
    ASSERT_TRUE(node_->ack("orders", {(*got)[0].receipt}));
  };
  ASSERT_FALSE(node_->create_queue(config("orders")));
  auto first = node_->send("orders", bodies({"one"}));
  ASSERT_TRUE(first);
  consume();
  ASSERT_FALSE(node_->delete_queue("orders"));
  ASSERT_FALSE(node_->create_queue(config("orders")));
  auto second = node_->send("orders", bodies({"two"}));
  ASSERT_TRUE(second);
  auto got = node_->receive("orders", {1, 0, -1});
  ASSERT_EQ(got->size(), 1u);
  for (const auto& id : {(*first)[0], (*second)[0]}) {
    auto story = node_->trace(id, 0);
    ASSERT_TRUE(story) << message_of(story.error());
    std::vector<std::string> kinds;
    for (const auto& s : (*story)[0]) {
      kinds.push_back(s.kind);
      EXPECT_EQ(s.id, id);
      EXPECT_EQ(s.queue, "orders");
    }
    auto expected = id == (*first)[0] ? std::vector<std::string>{"sent", "delivered", "acked"}
                                      : std::vector<std::string>{"sent", "delivered"};
    EXPECT_EQ(kinds, expected);
  }
}

TEST_F(topic_test, a_service_subscribes_to_a_topic_through_a_queue_of_its_own) {
  ASSERT_FALSE(node_->create_topic({"orders", {}}));
  std::mutex mutex;
  std::vector<std::string> seen;
  subscription only_paid;
  only_paid.filter_policy = R"({"kind": ["paid"]})";
  only_paid.raw = true;
  auto service = subscribe_service(
      *node_, "orders", "invoicing",
      [&](const envelope& m, uint32_t) {
        std::lock_guard<std::mutex> guard{mutex};
        seen.push_back(m.body);
        return outcome::ack();
      },
      only_paid);
  ASSERT_TRUE(service) << message_of(service.error());
  ASSERT_TRUE(
      node_->publish("orders", {msg("a", {{"kind", "paid"}}), msg("b", {{"kind", "quote"}})}));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> guard{mutex};
    return seen.size() == 1;
  }));
  EXPECT_EQ(seen[0], "a");
  EXPECT_EQ(node_->topic_configuration("orders")->subscriptions[0].queue, "orders.invoicing");
  EXPECT_EQ(code_of(subscribe_service(*node_, "nope", "x",
                                      [](const envelope&, uint32_t) { return outcome::ack(); })
                        .error()),
            errc::not_found); // no topic 'nope'
}
