// The data-plane conformance suite: every test runs against the embedded node and against the
// remote client (the same node served by its Cap'n Proto endpoint on a loopback port), and
// holds both to the same answers and the same errors. The catalog (queues, topics, routers,
// saga definitions) is set up on the node directly; only the data plane goes through the face
// under test. Time is the node's virtual clock: the client only carries calls.
#include "faces.hpp"
#include "eventually.hpp"
#include "mailroom/memory_budget.hpp"
#include "mailroom/saga.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mailroom::test {
namespace {

using data_plane_conformance = faces_test;

TEST_P(data_plane_conformance, a_sent_batch_is_received_whole_with_bodies_and_attributes) {
  auto ids =
      dp().send("orders", {message("one", {{"kind", "a"}}), message(std::string{"t\0o", 3})});
  ASSERT_TRUE(ids) << message_of(ids.error());
  ASSERT_EQ(ids->size(), 2u);
  auto got = receive("orders");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].message->id, (*ids)[0]);
  EXPECT_EQ(got[0].message->body, "one");
  EXPECT_EQ(*got[0].message->attribute("kind"), "a");
  EXPECT_EQ(got[1].message->body, std::string("t\0o", 3)); // bytes, not text
  EXPECT_EQ(got[0].receive_count, 1u);
  auto stats = dp().stats("orders");
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->sent, 2u);
  EXPECT_EQ(stats->in_flight, 2u);
  EXPECT_EQ(stats->visible, 0u);
}

TEST_P(data_plane_conformance, attributes_keep_their_type_and_bytes) {
  attribute_list typed{{"plain", "a"},
                       {"count", "12.50", "Number"},
                       {"id", "7", "Number.int"},
                       {"raw", std::string("\x00\xff", 2), "Binary"}};
  ASSERT_TRUE(dp().send("orders", {message("x", typed)}));
  auto got = receive("orders");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message->attributes, typed);
  EXPECT_TRUE(got[0].message->attributes[3].binary());
  EXPECT_EQ(got[0].message->attributes[0].type_name(), "String");
}

TEST_P(data_plane_conformance, ack_answers_per_receipt_and_settles_the_acked_ones) {
  ASSERT_TRUE(dp().send("orders", {message("a")}));
  auto got = receive("orders");
  ASSERT_EQ(got.size(), 1u);
  auto outcomes = dp().ack("orders", {got[0].receipt, "no-such-receipt"});
  ASSERT_TRUE(outcomes) << message_of(outcomes.error());
  ASSERT_EQ(outcomes->size(), 2u);
  EXPECT_EQ((*outcomes)[0].receipt, got[0].receipt);
  EXPECT_EQ((*outcomes)[0].error_code, "");
  EXPECT_EQ((*outcomes)[1].error_code, "unknown_receipt");
  EXPECT_FALSE((*outcomes)[1].error_message.empty());
  auto stats = dp().stats("orders");
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->acked, 1u);
  EXPECT_EQ(stats->in_flight, 0u);
}

TEST_P(data_plane_conformance,
       a_full_queue_refuses_an_all_or_none_batch_and_takes_what_fits_of_each) {
  auto small = queue("small");
  small.max_depth = 2;
  ASSERT_FALSE(node_->create_queue(small));
  auto whole = dp().send("small", {message("1"), message("2"), message("3")});
  ASSERT_FALSE(whole);
  EXPECT_EQ(code_of(whole.error()), errc::queue_full);
  auto each = dp().send_each("small", {message("1"), message("2"), message("3")});
  ASSERT_TRUE(each) << message_of(each.error());
  ASSERT_EQ(each->size(), 3u);
  EXPECT_FALSE((*each)[0].id.empty());
  EXPECT_FALSE((*each)[1].id.empty());
  EXPECT_EQ((*each)[2].error_code, "queue_full");
  EXPECT_TRUE((*each)[2].id.empty());
}

TEST_P(data_plane_conformance, a_nack_retries_after_the_given_time_and_a_reason_dead_letters) {
  auto q = queue("jobs");
  q.dead_letter_target = "jobs-dead";
  ASSERT_FALSE(node_->create_queue(q));
  ASSERT_TRUE(dp().send("jobs", {message("retry me"), message("reject me")}));
  auto got = receive("jobs");
  ASSERT_EQ(got.size(), 2u);
  auto outcomes = dp().nack("jobs", {{got[0].receipt, 5'000, "", "try later"},
                                     {got[1].receipt, -1, "rejected", "bad input"},
                                     {"no-such-receipt", -1, "", ""}});
  ASSERT_TRUE(outcomes) << message_of(outcomes.error());
  ASSERT_EQ(outcomes->size(), 3u);
  EXPECT_EQ((*outcomes)[0].error_code, "");
  EXPECT_EQ((*outcomes)[1].error_code, "");
  EXPECT_EQ((*outcomes)[2].error_code, "unknown_receipt");

  EXPECT_TRUE(receive("jobs").empty()); // not before its retry time
  clock->advance(5'000);
  auto again = receive("jobs");
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].message->body, "retry me");
  EXPECT_EQ(again[0].receive_count, 2u);

  std::vector<dead_letter> dead;
  ASSERT_TRUE(eventually([&] { // the sink journals its copy after the queue lets it go
    auto listed = dp().dead_letters("jobs-dead", 10);
    dead = listed ? *listed : std::vector<dead_letter>{};
    return dead.size() == 1;
  }));
  EXPECT_EQ(dead[0].message.body, "reject me");
  EXPECT_EQ(dead[0].death.reason, "rejected");
  EXPECT_EQ(dead[0].death.error, "rejected: bad input"); // the nack's reason, then its error
  EXPECT_EQ(dead[0].death.source, "jobs");
}

TEST_P(data_plane_conformance,
       redrive_moves_dead_letters_back_to_their_queue_and_purge_empties_a_sink) {
  auto q = queue("jobs");
  q.dead_letter_target = "jobs-dead";
  ASSERT_FALSE(node_->create_queue(q));
  ASSERT_TRUE(dp().send("jobs", {message("a"), message("b"), message("c")}));
  auto got = receive("jobs");
  ASSERT_EQ(got.size(), 3u);
  std::vector<nack_request> rejects;
  for (const auto& d : got)
    rejects.push_back({d.receipt, -1, "rejected", d.message->body == "c" ? "poison" : "retry"});
  ASSERT_TRUE(dp().nack("jobs", rejects));
  ASSERT_TRUE(eventually([&] {
    auto listed = dp().dead_letters("jobs-dead", 10);
    return listed && listed->size() == 3;
  }));

  redrive_request dry;
  dry.filter.error_contains = "retry";
  dry.dry_run = true;
  auto would = dp().redrive("jobs-dead", dry);
  ASSERT_TRUE(would) << message_of(would.error());
  EXPECT_EQ(would->moved, 2u);
  redrive_request real = dry;
  real.dry_run = false;
  auto moved = dp().redrive("jobs-dead", real);
  ASSERT_TRUE(moved) << message_of(moved.error());
  EXPECT_EQ(moved->moved, 2u);
  EXPECT_EQ(receive("jobs").size(), 2u);

  auto purged = dp().purge_dead_letters("jobs-dead");
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 1u);
  auto left = dp().dead_letters("jobs-dead", 10);
  ASSERT_TRUE(left);
  EXPECT_TRUE(left->empty());
}

TEST_P(data_plane_conformance, a_lease_ends_on_time_or_when_its_visibility_is_changed) {
  ASSERT_TRUE(dp().send("orders", {message("a"), message("b")}));
  auto got = receive("orders");
  ASSERT_EQ(got.size(), 2u);
  ASSERT_FALSE(dp().change_visibility("orders", got[0].receipt, 0));
  auto back = receive("orders");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].message->id, got[0].message->id);
  clock->advance(30'000 + 1'000); // the other's lease (the queue's 30 s) ends, then its backoff
  auto expired = receive("orders");
  ASSERT_FALSE(expired.empty());
  EXPECT_EQ(expired[0].message->id, got[1].message->id);
  EXPECT_EQ(expired[0].receive_count, 2u);
  auto stale = dp().change_visibility("orders", got[1].receipt, 1'000);
  ASSERT_TRUE(stale);
  EXPECT_EQ(code_of(stale), errc::receipt_expired);
}

TEST_P(data_plane_conformance, purge_removes_every_message_and_says_how_many) {
  ASSERT_TRUE(dp().send("orders", {message("a"), message("b"), message("c")}));
  auto purged = dp().purge("orders");
  ASSERT_TRUE(purged);
  EXPECT_EQ(*purged, 3u);
  EXPECT_TRUE(receive("orders").empty());
}

TEST_P(data_plane_conformance, a_publish_reaches_the_subscriptions_whose_filters_match) {
  ASSERT_FALSE(node_->create_queue(queue("eu")));
  ASSERT_FALSE(node_->create_queue(queue("all")));
  topic_config t;
  t.name = "events";
  t.subscriptions = {{"eu", R"({"region":["eu"]})", false, true, ""}, {"all", "", false, true, ""}};
  ASSERT_FALSE(node_->create_topic(t));
  auto r =
      dp().publish("events", {message("x", {{"region", "eu"}}), message("y", {{"region", "us"}})});
  ASSERT_TRUE(r) << message_of(r.error());
  EXPECT_EQ(r->ids.size(), 2u);
  EXPECT_EQ(r->deliveries, 3u);
  EXPECT_EQ(r->unmatched, 0u);
  auto eu = receive("eu");
  ASSERT_EQ(eu.size(), 1u);
  EXPECT_EQ(eu[0].message->body, "x"); // raw: the body as published
  EXPECT_EQ(receive("all").size(), 2u);
  auto stats = dp().topic_statistics("events");
  ASSERT_TRUE(stats) << message_of(stats.error());
  EXPECT_EQ(stats->published, 2u);
  EXPECT_EQ(stats->deliveries, 3u);
  EXPECT_EQ(stats->subscriptions, 2u);
}

TEST_P(data_plane_conformance, a_router_sends_by_its_first_matching_rule_and_sinks_the_rest) {
  ASSERT_FALSE(node_->create_queue(queue("big")));
  router_config r;
  r.name = "by-size";
  r.rules = {{R"({"size":["large"]})", false, {route_target::kind::queue, "big"}}};
  ASSERT_FALSE(node_->put_router(r));
  auto routed = dp().route("by-size", {message("1", {{"size", "large"}}), message("2")});
  ASSERT_TRUE(routed) << message_of(routed.error());
  EXPECT_EQ(routed->routed, 1u);
  EXPECT_EQ(routed->unroutable, 1u);
  EXPECT_EQ(routed->copies, 1u);
  auto big = receive("big");
  ASSERT_EQ(big.size(), 1u);
  EXPECT_EQ(big[0].message->body, "1");
  auto sunk = dp().dead_letters("by-size-unroutable", 10);
  ASSERT_TRUE(sunk) << message_of(sunk.error());
  ASSERT_EQ(sunk->size(), 1u);
  EXPECT_EQ((*sunk)[0].death.reason, "unroutable");
}

TEST_P(data_plane_conformance, a_missing_entity_is_named_with_the_same_error_on_every_face) {
  auto expect = [](const caf::error& err, errc code, const std::string& text) {
    EXPECT_EQ(code_of(err), code) << message_of(err);
    EXPECT_EQ(message_of(err), text);
  };
  expect(dp().send("nope", {message("a")}).error(), errc::unknown_queue, "no queue named 'nope'");
  expect(dp().receive("nope", {}).error(), errc::unknown_queue, "no queue named 'nope'");
  expect(dp().stats("nope").error(), errc::unknown_queue, "no queue named 'nope'");
  expect(dp().dead_letters("nope", 1).error(), errc::not_found, "no dead-letter sink named 'nope'");
  expect(dp().publish("nope", {message("a")}).error(), errc::not_found, "no topic named 'nope'");
  expect(dp().route("nope", {message("a")}).error(), errc::not_found, "no router named 'nope'");
  expect(dp().start_saga("nope", "{}").error(), errc::not_found, "no saga definition named 'nope'");
  EXPECT_EQ(code_of(dp().saga("no-such-saga").error()), errc::not_found);
}

TEST_P(data_plane_conformance, trace_tells_a_messages_story_from_send_to_ack) {
  auto ids = dp().send("orders", {message("a")});
  ASSERT_TRUE(ids);
  auto got = receive("orders");
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(dp().ack("orders", {got[0].receipt}));
  auto stories = dp().trace((*ids)[0], 1);
  ASSERT_TRUE(stories) << message_of(stories.error());
  ASSERT_FALSE(stories->empty());
  std::vector<std::string> kinds;
  for (const auto& step : (*stories)[0])
    kinds.push_back(step.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"sent", "delivered", "acked"}));
}

TEST_P(data_plane_conformance, trace_follows_at_most_max_trace_depth_generations) {
  // A chain of 15 messages, each caused by the one before.
  auto first = dp().send("orders", {message("gen-0")});
  ASSERT_TRUE(first);
  auto parent = (*first)[0];
  for (int i = 1; i < 15; ++i) {
    auto m = message("gen-" + std::to_string(i));
    m.causation_id = parent;
    auto ids = dp().send("orders", {m});
    ASSERT_TRUE(ids);
    parent = (*ids)[0];
  }
  auto two = dp().trace((*first)[0], 2);
  ASSERT_TRUE(two) << message_of(two.error());
  EXPECT_EQ(two->size(), 3u); // the message and two generations
  auto all = dp().trace((*first)[0], UINT32_MAX);
  ASSERT_TRUE(all) << message_of(all.error());
  EXPECT_EQ(all->size(), max_trace_depth + 1);
}

TEST_P(data_plane_conformance, a_saga_started_runs_to_completion_on_the_replies_it_gets) {
  ASSERT_FALSE(node_->create_queue(queue("payments")));
  auto d = saga_builder{"order", 1}
               .step("Charge")
               .to("payments")
               .command(R"({"charge":{{amount}}})")
               .build();
  ASSERT_TRUE(d) << message_of(d.error());
  ASSERT_FALSE(node_->put_saga(*d));
  auto definition = dp().saga_definition_of("order", 1);
  ASSERT_TRUE(definition) << message_of(definition.error());
  EXPECT_EQ(definition->steps.at(0).name, "Charge");

  auto id = dp().start_saga("order", R"({"amount":5})", "order-1");
  ASSERT_TRUE(id) << message_of(id.error());
  auto same = dp().start_saga("order", R"({"amount":5})", "order-1");
  ASSERT_TRUE(same);
  EXPECT_EQ(*same, *id); // the idempotency key names the instance

  std::vector<delivery> commands;
  ASSERT_TRUE(eventually([&] {
    commands = receive("payments");
    return !commands.empty();
  }));
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0].message->body, R"({"charge":5})");
  auto reply = saga_reply_message(*commands[0].message, step_result::ok(R"({"paid":true})"));
  ASSERT_TRUE(dp().send(*commands[0].message->attribute(saga_attribute::reply_to), {reply}));
  ASSERT_TRUE(dp().ack("payments", {commands[0].receipt}));

  ASSERT_TRUE(eventually([&] {
    auto s = dp().saga(*id);
    return s && s->status == saga_status::completed;
  }));
  auto s = dp().saga(*id);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->definition, "order");
  EXPECT_EQ(s->completed_steps, 1u);
  EXPECT_NE(s->data.find(R"("paid":true)"), std::string::npos) << s->data;
  auto listed = dp().sagas({saga_status::completed, "order", 10});
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, *id);
  // The manager counts a completion once it is durable, which may be after the journal's
  // reader already shows the row.
  EXPECT_TRUE(eventually([&] {
    auto metrics = dp().saga_statistics("order");
    return metrics && metrics->completed == 1;
  }));
}

TEST_P(data_plane_conformance,
       a_cancelled_saga_compensates_and_a_finished_one_cannot_be_cancelled) {
  ASSERT_FALSE(node_->create_queue(queue("stock")));
  auto d = saga_builder{"reserve", 1}
               .step("Reserve")
               .to("stock")
               .command(R"({"reserve":1})")
               .compensation(R"({"release":1})")
               .build();
  ASSERT_TRUE(d) << message_of(d.error());
  ASSERT_FALSE(node_->put_saga(*d));
  auto id = dp().start_saga("reserve", "{}");
  ASSERT_TRUE(id) << message_of(id.error());
  ASSERT_FALSE(dp().cancel_saga(*id));
  ASSERT_TRUE(eventually([&] {
    auto s = dp().saga(*id);
    return s && s->cancelled;
  }));
  auto unknown = dp().cancel_saga("no-such-saga");
  EXPECT_EQ(code_of(unknown), errc::not_found);
}

INSTANTIATE_FACES(data_plane_conformance);

/// A node with the smallest memory budget it runs with: 1 MiB, sends held above 768 KiB.
class memory_conformance : public faces_test {
protected:
  memory_conformance() { max_memory_bytes = min_memory_limit; }
};

// Issue 11: the refusal at the budget's hard limit was only seen on the embedded node.
TEST_P(memory_conformance, a_send_past_the_memory_limit_is_refused_naming_it_and_later_taken) {
  auto big = queue("big");
  big.max_message_bytes = 300 * 1024;
  ASSERT_FALSE(node_->create_queue(big));
  std::vector<outgoing_message> fill;
  for (int i = 0; i < 4; ++i)
    fill.push_back(message(std::string(200 * 1024, 'a' + i)));
  ASSERT_TRUE(dp().send("big", fill)) << "below the soft limit when it arrives";
  EXPECT_GT(node_->memory().used_bytes, min_memory_limit / 4 * 3);
  auto refused = dp().send("big", {message(std::string(300 * 1024, 'x'))});
  ASSERT_FALSE(refused) << "held past the limit, it would never be taken";
  EXPECT_EQ(code_of(refused.error()), errc::memory_full);
  EXPECT_NE(message_of(refused.error()).find("[node] max_memory"), std::string::npos)
      << message_of(refused.error());
  auto got = receive("big");
  ASSERT_EQ(got.size(), 4u) << "a consumer is never held";
  std::vector<std::string> receipts;
  for (const auto& d : got)
    receipts.push_back(d.receipt);
  ASSERT_TRUE(dp().ack("big", receipts));
  auto taken = dp().send("big", {message(std::string(300 * 1024, 'x'))});
  EXPECT_TRUE(taken) << message_of(taken.error());
}

INSTANTIATE_FACES(memory_conformance);

} // namespace
} // namespace mailroom::test
