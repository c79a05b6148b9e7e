// Producer deduplication: queue_state on virtual time, and a real node across a reopen.
#include "queue/queue_state.hpp"
#include "mailroom/error.hpp"
#include "ask.hpp"
#include "node_fixture.hpp"
#include "staging.hpp"

#include <future>

#include <gtest/gtest.h>

using namespace mailroom;

namespace {

constexpr int64_t start = 1'700'000'000'000;

outgoing_message keyed(std::string body, std::string dedup_id) {
  outgoing_message m;
  m.body = std::move(body);
  m.dedup_id = std::move(dedup_id);
  return m;
}

class dedup_state_test : public ::testing::Test {
protected:
  dedup_state_test() : q(config()) {}

  static queue_config config(bool content_based = false) {
    queue_config c;
    c.name = "payments";
    c.dedup_window_ms = 60'000;
    c.content_based_dedup = content_based;
    return c;
  }

  std::vector<std::string> send(std::vector<outgoing_message> batch) {
    auto out = q.send(std::move(batch), now);
    EXPECT_TRUE(out) << message_of(out.error());
    EXPECT_FALSE(out->writes.empty()) << "even a duplicate waits for the journal";
    q.commit_send(out->token, now);
    return out->ids;
  }

  uint64_t visible() const { return q.stats(now).visible; }

  int64_t now = start;
  queue_state q;
};

} // namespace

TEST_F(dedup_state_test, a_resend_inside_the_window_gets_the_original_id_and_is_not_enqueued) {
  auto first = send({keyed("pay 10", "p-1")});
  now += 59'999;
  auto again = send({keyed("pay 10", "p-1")});
  EXPECT_EQ(again, first);
  EXPECT_EQ(visible(), 1u);
}

TEST_F(dedup_state_test, after_the_window_the_same_key_is_a_new_message) {
  auto first = send({keyed("pay 10", "p-1")});
  now += 60'000;
  auto later = send({keyed("pay 10", "p-1")});
  EXPECT_NE(later, first);
  EXPECT_EQ(visible(), 2u);
}

TEST_F(dedup_state_test, duplicates_inside_one_batch_collapse_and_ids_stay_in_order) {
  auto ids = send({keyed("a", "k1"), keyed("b", "k2"), keyed("a again", "k1"), keyed("c", "")});
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(ids[2], ids[0]);
  EXPECT_NE(ids[1], ids[0]);
  EXPECT_EQ(visible(), 3u);
}

TEST_F(dedup_state_test, the_key_outlives_the_ack_and_the_dead_letter) {
  auto first = send({keyed("x", "k")});
  auto got = q.receive(1, -1, now);
  ASSERT_EQ(got.deliveries.size(), 1u);
  q.ack({got.deliveries[0].receipt}, now);
  EXPECT_EQ(send({keyed("x", "k")}), first) << "acked, but the window is still open";
  EXPECT_EQ(visible(), 0u);
}

TEST_F(dedup_state_test, content_based_dedup_keys_messages_by_their_body) {
  q.reconfigure(config(/*content_based=*/true));
  auto a = send({keyed("same body", "")});
  auto b = send({keyed("same body", "")});
  auto c = send({keyed("other body", "")});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_EQ(visible(), 2u);
  EXPECT_EQ(dedup_index::key_of("", "abc", true),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(dedup_state_test, an_aborted_send_does_not_leave_its_key_behind) {
  auto out = q.send({keyed("x", "k")}, now);
  ASSERT_TRUE(out);
  q.abort_send(out->token);
  auto again = send({keyed("x", "k")});
  EXPECT_NE(again, out->ids);
  EXPECT_EQ(visible(), 1u);
}

TEST_F(dedup_state_test, a_window_outside_1s_to_24h_is_refused) {
  auto c = config();
  c.dedup_window_ms = 500;
  EXPECT_NE(message_of(validate(c)).find("dedup window"), std::string::npos);
  c.dedup_window_ms = 25LL * 3600 * 1000;
  EXPECT_TRUE(validate(c));
}

class dedup_node_test : public node_test {
protected:
  /// Stages one message keyed `dedup_id` in `queue`, as a topic's fan-out does before it commits.
  caf::expected<staged_send> stage(const caf::actor& queue, const std::string& dedup_id) {
    return ask<staged_send>(node_->system(), queue, stage_atom::value,
                            copies_to_stage{{keyed("pay", dedup_id)}, {}});
  }
};

TEST_F(dedup_node_test, dedup_records_survive_a_reopen_and_redrive) {
  auto c = config("payments");
  c.max_receive_count = 1;
  c.dead_letter_target = "payments-dlq";
  open({c});
  auto first = node_->send("payments", {keyed("pay", "p-1")});
  ASSERT_TRUE(first) << message_of(first.error());
  reopen();
  auto again = node_->send("payments", {keyed("pay", "p-1")});
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *first) << "journaled, so it holds across a restart";

  // Dead-letter it (one receive allowed, lease expires), redrive it back: still one message,
  // and the key still holds.
  auto got = node_->receive("payments", {1, 0, 1'000});
  ASSERT_EQ(got->size(), 1u);
  advance(2'000);
  node_->receive("payments", {1, 0, -1}); // the second receive moves it to the sink
  ASSERT_TRUE(eventually([&] { return node_->dead_letters("payments-dlq", 10)->size() == 1; }));
  EXPECT_EQ(*node_->send("payments", {keyed("pay", "p-1")}), *first);
  auto moved = node_->redrive("payments-dlq", {});
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->moved, 1u);
  EXPECT_EQ(*node_->send("payments", {keyed("pay", "p-1")}), *first);
  auto back = node_->receive("payments", {10, 0, -1});
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].message->id, (*first)[0]);

  advance(5 * 60 * 1000);
  auto after = node_->send("payments", {keyed("pay", "p-1")});
  EXPECT_NE(*after, *first) << "the default window is 5 minutes";
}

TEST_F(dedup_node_test, a_duplicate_of_a_staged_send_is_confirmed_only_when_that_send_is) {
  open({config("payments")});
  auto queue = *node_->queue("payments");
  // A topic staged a copy with dedup id p-1 and has not committed it yet.
  auto staged = stage(queue, "p-1");
  ASSERT_TRUE(staged) << message_of(staged.error());
  auto duplicate = std::async(std::launch::async,
                              [&] { return node_->send("payments", {keyed("pay", "p-1")}); });
  EXPECT_EQ(duplicate.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout)
      << "answered before the send it duplicates is durable";
  ASSERT_FALSE(node_->journal_internal().write(std::move(staged->writes)));
  caf::anon_send(queue, finish_atom::value, staged->token);
  auto ids = duplicate.get();
  ASSERT_TRUE(ids) << message_of(ids.error());
  EXPECT_EQ(*ids, staged->ids);

  // Staged again with a new key, then aborted: the duplicate was not sent and must say so.
  auto second = stage(queue, "p-2");
  ASSERT_TRUE(second);
  auto orphan = std::async(std::launch::async,
                           [&] { return node_->send("payments", {keyed("pay", "p-2")}); });
  EXPECT_EQ(orphan.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  caf::anon_send(queue, abort_atom::value, second->token);
  auto refused = orphan.get();
  ASSERT_FALSE(refused);
  EXPECT_EQ(code_of(refused.error()), errc::unavailable);
  EXPECT_TRUE(node_->send("payments", {keyed("pay", "p-2")})) << "sent again, it is taken";
}

TEST_F(dedup_node_test, a_staged_duplicate_of_a_send_not_committed_yet_is_refused_to_be_retried) {
  open({config("payments")});
  auto queue = *node_->queue("payments");
  auto first = stage(queue, "p-3");
  ASSERT_TRUE(first) << message_of(first.error());
  // If the first aborted, a staged copy answered as its duplicate would have been sent nowhere.
  auto second = stage(queue, "p-3");
  ASSERT_FALSE(second);
  EXPECT_EQ(code_of(second.error()), errc::unavailable) << message_of(second.error());
  ASSERT_FALSE(node_->journal_internal().write(std::move(first->writes)));
  caf::anon_send(queue, finish_atom::value, first->token);
  auto again = stage(queue, "p-3");
  ASSERT_TRUE(again) << message_of(again.error());
  EXPECT_EQ(again->ids, first->ids) << "once that one committed, the duplicate gets its id";
}
