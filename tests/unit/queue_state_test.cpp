// queue_state on virtual time: every rule of the message lifecycle, with no clock and no
// sleeping. `now` is advanced by hand.
#include "queue/queue_state.hpp"
#include "backoff.hpp"
#include "mailroom/error.hpp"

#include <gtest/gtest.h>

using namespace mailroom;

namespace {

constexpr int64_t t0 = 1'700'000'000'000; // an arbitrary unix ms

outgoing_message msg(std::string body, int64_t delay_ms = -1) {
  outgoing_message m;
  m.body = std::move(body);
  m.delay_ms = delay_ms;
  return m;
}

class queue_state_test : public ::testing::Test {
protected:
  queue_state_test() : q(make_config()) {}

  static queue_config make_config() {
    queue_config c;
    c.name = "orders";
    c.visibility_timeout_ms = 30'000;
    c.retry = {1'000, 2.0, 60'000};
    return c;
  }

  size_t c_max_bytes() const { return q.config().max_message_bytes; }

  /// Sends and commits, as the actor does once the journal confirms.
  std::vector<std::string> send(std::vector<outgoing_message> batch) {
    auto out = q.send(std::move(batch), now);
    EXPECT_TRUE(out) << message_of(out.error());
    EXPECT_FALSE(out->writes.empty());
    q.commit_send(out->token, now);
    return out->ids;
  }

  std::vector<delivery> receive(uint32_t max = 10, int64_t visibility = -1) {
    auto out = q.receive(max, visibility, now);
    dead.insert(dead.end(), out.dead.begin(), out.dead.end());
    return out.deliveries;
  }

  queue_state::settle_outcome nack(std::vector<nack_request> requests) {
    auto out = q.nack(requests, now);
    dead.insert(dead.end(), out.dead.begin(), out.dead.end());
    return out;
  }

  void advance_to(int64_t t) {
    now = t;
    auto out = q.advance(now);
    dead.insert(dead.end(), out.dead.begin(), out.dead.end());
  }

  void advance_by(int64_t ms) { advance_to(now + ms); }

  int64_t now = t0;
  queue_state q;
  std::vector<queue_state::outgoing_dead> dead;
};

} // namespace

TEST_F(queue_state_test, a_committed_send_is_received_once_and_gone_after_ack) {
  auto ids = send({msg("a"), msg("b")});
  ASSERT_EQ(ids.size(), 2u);
  auto got = receive();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].message->body, "a");
  EXPECT_EQ(got[0].message->id, ids[0]);
  EXPECT_EQ(got[0].receive_count, 1u);
  EXPECT_TRUE(receive().empty()) << "leased messages are invisible";
  auto acked = q.ack({got[0].receipt, got[1].receipt}, now);
  EXPECT_EQ(acked.results[0].error_code, "");
  EXPECT_FALSE(acked.writes.empty());
  advance_by(3'600'000);
  EXPECT_TRUE(receive().empty()) << "acked messages never come back";
  auto s = q.stats(now);
  EXPECT_EQ(s.sent, 2u);
  EXPECT_EQ(s.acked, 2u);
  EXPECT_EQ(s.visible + s.in_flight + s.delayed, 0u);
}

TEST_F(queue_state_test, a_message_sent_with_an_id_keeps_it_and_others_get_new_ones) {
  auto named = msg("named");
  named.id = "0190a1b2-0000-7000-8000-000000000001";
  auto ids = send({named, msg("anonymous")});
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], named.id);
  EXPECT_EQ(ids[1].size(), 36u);
  auto got = receive();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].message->id, named.id);
}

TEST_F(queue_state_test, an_uncommitted_send_is_not_delivered_and_an_aborted_one_vanishes) {
  auto out = q.send({msg("x")}, now);
  ASSERT_TRUE(out);
  EXPECT_TRUE(receive().empty());
  q.abort_send(out->token);
  advance_by(1'000);
  EXPECT_TRUE(receive().empty());
  EXPECT_EQ(q.stats(now).sent, 0u);
}

TEST_F(queue_state_test, an_expired_lease_comes_back_after_backoff_not_at_once) {
  send({msg("a")});
  auto first = receive();
  ASSERT_EQ(first.size(), 1u);
  advance_by(30'000); // lease ends
  EXPECT_TRUE(receive().empty()) << "backoff of ~1s after the first failure";
  EXPECT_EQ(q.stats(now).delayed, 1u);
  advance_by(1'000); // base delay, jitter keeps it within [base/2, base]
  auto second = receive();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].receive_count, 2u);
  EXPECT_EQ(second[0].message->id, first[0].message->id);
}

TEST_F(queue_state_test, backoff_grows_exponentially_with_jitter_and_is_capped) {
  retry_policy p{1'000, 2.0, 10'000};
  for (uint32_t n = 1; n <= 8; ++n) {
    auto full = std::min<int64_t>(10'000, 1'000LL << (n - 1));
    auto d = backoff_ms(p, n, "some-id");
    EXPECT_GE(d, full / 2) << n;
    EXPECT_LE(d, full) << n;
    EXPECT_EQ(d, backoff_ms(p, n, "some-id")) << "deterministic, so a restart agrees";
  }
}

// Issue 9, bug 5: jitter came from std::hash, which no standard keeps stable, so a node built
// with another standard library would compute other retry times for journaled messages. XXH3's
// output is specified: these values hold for every build.
TEST_F(queue_state_test, retry_jitter_is_the_same_in_every_build) {
  retry_policy p{1'000, 2.0, 60'000};
  const std::string id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
  EXPECT_EQ(backoff_ms(p, 1, id), 880);
  EXPECT_EQ(backoff_ms(p, 2, id), 1'555);
  EXPECT_EQ(backoff_ms(p, 3, id), 2'076);
  EXPECT_EQ(backoff_ms(p, 4, id), 5'662);
  EXPECT_EQ(backoff_ms(p, 1, "some-id"), 989);
  EXPECT_EQ(backoff_ms(p, 4, "some-id"), 6'586);
}

TEST_F(queue_state_test, nack_with_retry_after_delays_exactly_that_long) {
  send({msg("a")});
  auto got = receive();
  auto out = nack({{got[0].receipt, 5'000, "", "db down"}});
  EXPECT_EQ(out.results[0].error_code, "");
  advance_by(4'999);
  EXPECT_TRUE(receive().empty());
  advance_by(1);
  ASSERT_EQ(receive().size(), 1u);
}

TEST_F(queue_state_test, nack_without_delay_follows_the_backoff_policy) {
  send({msg("a")});
  for (uint32_t n = 1; n <= 3; ++n) {
    auto got = receive();
    ASSERT_EQ(got.size(), 1u) << n;
    nack({{got[0].receipt, -1, "", "boom"}});
    // The jitter is keyed by the message's place in the queue (a restart keeps it).
    auto expected = backoff_ms(q.config().retry, n, q.config().name + "/1");
    advance_by(expected - 1);
    EXPECT_TRUE(receive().empty()) << n;
    advance_by(1);
  }
}

TEST_F(queue_state_test, max_receive_count_moves_the_message_to_its_sink_with_a_death_record) {
  auto c = make_config();
  c.max_receive_count = 2;
  c.dead_letter_target = "orders-dlq";
  q.reconfigure(c);
  auto ids = send({msg("poison")});
  for (int i = 0; i < 2; ++i) {
    auto got = receive();
    ASSERT_EQ(got.size(), 1u);
    nack({{got[0].receipt, 0, "", "parse error " + std::to_string(i)}});
  }
  ASSERT_EQ(dead.size(), 1u);
  const auto& d = dead[0].record;
  EXPECT_EQ(d.message.id, ids[0]);
  EXPECT_EQ(d.death.reason, "max_receives");
  EXPECT_EQ(d.death.error, "parse error 1");
  EXPECT_EQ(d.death.source, "orders");
  EXPECT_EQ(d.death.receive_count, 2u);
  EXPECT_EQ(d.death.first_failure_ms, t0);
  EXPECT_TRUE(receive().empty()) << "on its way to the sink, not deliverable";
  auto writes = q.finish_dead_letters({dead[0].seq});
  EXPECT_FALSE(writes.empty());
  EXPECT_EQ(q.stats(now).dead_lettered, 1u);
  EXPECT_EQ(q.stats(now).delayed, 0u);
}

TEST_F(queue_state_test, expired_leases_count_towards_max_receives) {
  auto c = make_config();
  c.max_receive_count = 1;
  c.dead_letter_target = "dlq";
  q.reconfigure(c);
  send({msg("slow")});
  ASSERT_EQ(receive().size(), 1u);
  advance_by(30'000);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].record.death.reason, "max_receives");
  EXPECT_EQ(dead[0].record.death.error, "visibility timeout expired");
}

TEST_F(queue_state_test, a_sink_that_refuses_gets_the_message_again_later) {
  auto c = make_config();
  c.dead_letter_target = "dlq";
  q.reconfigure(c);
  send({msg("a")});
  auto got = receive();
  nack({{got[0].receipt, -1, "bad payload", ""}});
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].record.death.reason, "rejected");
  EXPECT_EQ(dead[0].record.death.error, "bad payload");
  q.abort_dead_letters({dead[0].seq}, now, 1'000);
  dead.clear();
  advance_by(1'000);
  // Back to ready: a consumer may now see it again (at-least-once, nothing lost).
  EXPECT_EQ(receive().size(), 1u);
}

TEST_F(queue_state_test, nack_to_a_sink_needs_a_dead_letter_target) {
  send({msg("a")});
  auto got = receive();
  auto out = nack({{got[0].receipt, -1, "nope", ""}});
  EXPECT_EQ(out.results[0].error_code, "invalid_argument");
  EXPECT_EQ(out.results[0].error_message, "queue 'orders' has no dead-letter target");
}

TEST_F(queue_state_test, per_message_and_queue_delays_hold_messages_back) {
  auto c = make_config();
  c.delay_ms = 2'000;
  q.reconfigure(c);
  send({msg("queue-delay"), msg("own-delay", 10'000), msg("no-delay", 0)});
  auto got = receive();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message->body, "no-delay");
  advance_by(2'000);
  got = receive();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message->body, "queue-delay");
  advance_by(8'000);
  got = receive();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message->body, "own-delay");
}

TEST_F(queue_state_test, refuses_delays_over_fifteen_minutes_and_oversized_messages) {
  auto late = q.send({msg("a", 15 * 60'000 + 1)}, now);
  ASSERT_FALSE(late);
  EXPECT_EQ(message_of(late.error()), "queue 'orders': delay 900001ms is longer than 15m");
  auto c = make_config();
  c.max_message_bytes = 4;
  q.reconfigure(c);
  auto big = q.send({msg("12345")}, now);
  ASSERT_FALSE(big);
  EXPECT_EQ(code_of(big.error()), errc::message_too_large);
  EXPECT_EQ(message_of(big.error()),
            "queue 'orders': message of 5 bytes exceeds the limit of 4 bytes");
  EXPECT_EQ(q.stats(now).visible, 0u) << "a refused batch leaves nothing behind";
}

TEST_F(queue_state_test, receipts_that_are_unknown_or_from_an_earlier_delivery_are_refused) {
  send({msg("a")});
  auto first = receive();
  auto garbage = q.ack({"banana"}, now);
  EXPECT_EQ(garbage.results[0].error_code, "unknown_receipt");
  EXPECT_EQ(garbage.results[0].error_message, "queue 'orders': receipt 'banana' is not a receipt");
  EXPECT_EQ(q.ack({"999.1"}, now).results[0].error_code, "unknown_receipt");
  advance_by(30'000 + 60'000); // expires, backs off, visible again
  auto second = receive();
  ASSERT_EQ(second.size(), 1u);
  auto stale = q.ack({first[0].receipt}, now);
  EXPECT_EQ(stale.results[0].error_code, "receipt_expired");
  EXPECT_EQ(q.ack({second[0].receipt}, now).results[0].error_code, "");
  EXPECT_EQ(q.ack({second[0].receipt}, now).results[0].error_code, "unknown_receipt");
}

TEST_F(queue_state_test, change_visibility_extends_or_releases_a_lease) {
  send({msg("a")});
  auto got = receive();
  ASSERT_TRUE(q.change_visibility(got[0].receipt, 60'000, now));
  advance_by(59'999);
  EXPECT_TRUE(receive().empty()) << "extended lease still holds";
  ASSERT_TRUE(q.change_visibility(got[0].receipt, 0, now));
  auto again = receive();
  ASSERT_EQ(again.size(), 1u) << "released: visible at once, no backoff";
  EXPECT_EQ(again[0].receive_count, 2u);
  auto bad = q.change_visibility(again[0].receipt, 13 * 3'600'000, now);
  ASSERT_FALSE(bad);
  EXPECT_EQ(code_of(bad.error()), errc::invalid_argument);
}

TEST_F(queue_state_test, retention_drops_old_messages_or_dead_letters_them) {
  auto c = make_config();
  c.retention_ms = 60'000;
  q.reconfigure(c);
  send({msg("old")});
  advance_by(30'000);
  send({msg("young")});
  advance_by(30'000);
  auto got = receive();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].message->body, "young");

  c.dead_letter_target = "dlq";
  q.reconfigure(c);
  advance_by(60'000);
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].record.death.reason, "expired");
}

TEST_F(queue_state_test, purge_removes_everything_delivered_or_not) {
  send({msg("a"), msg("b"), msg("c", 60'000)});
  receive(1);
  auto [purged, writes] = q.purge();
  EXPECT_EQ(purged, 3u);
  EXPECT_FALSE(writes.empty());
  advance_by(3'600'000);
  EXPECT_TRUE(receive().empty());
}

TEST_F(queue_state_test, next_deadline_names_the_earliest_timer) {
  EXPECT_FALSE(q.next_deadline());
  send({msg("a", 5'000)});
  EXPECT_EQ(*q.next_deadline(), now + 5'000);
}

TEST(queue_config_validation, names_the_queue_and_the_field) {
  queue_config c;
  c.name = "orders";
  c.max_receive_count = 3;
  EXPECT_EQ(message_of(validate(c)),
            "queue 'orders': max receive count needs a dead-letter target");
  c.dead_letter_target = "orders";
  EXPECT_EQ(message_of(validate(c)),
            "queue 'orders': dead-letter target cannot be the queue itself");
  c.name = "bad name!";
  EXPECT_EQ(code_of(validate(c)), errc::invalid_argument);
  queue_config ok;
  ok.name = "ok-queue_1.v2";
  EXPECT_FALSE(validate(ok));
}

// Issue 9, bug 6: a batch was refused whole by a full queue, so a producer sending 1,000 at a
// time into a queue with 580 free slots was refused again and again.
TEST_F(queue_state_test, a_nearly_full_queue_takes_the_part_of_a_batch_that_fits) {
  auto c = make_config();
  c.max_depth = 5;
  q.reconfigure(c);
  send({msg("a"), msg("b"), msg("c")});
  auto out = q.send({msg("d"), msg("e"), msg("f"), msg("g")}, now, queue_state::batch_mode::each);
  ASSERT_TRUE(out) << message_of(out.error());
  q.commit_send(out->token, now);
  ASSERT_EQ(out->ids.size(), 4u);
  EXPECT_FALSE(out->ids[0].empty());
  EXPECT_FALSE(out->ids[1].empty());
  EXPECT_TRUE(out->ids[2].empty());
  EXPECT_TRUE(out->ids[3].empty());
  ASSERT_EQ(out->refused.size(), 2u);
  EXPECT_EQ(out->refused[0].first, 2u);
  EXPECT_EQ(code_of(out->refused[0].second), errc::queue_full);
  EXPECT_EQ(message_of(out->refused[0].second),
            "queue 'orders' is full: 2 new message(s) of this batch fit (it holds 3 of at most "
            "5); retry the rest later");
  EXPECT_EQ(q.stats(now).visible, 5u);
}

TEST_F(queue_state_test, a_batch_sent_each_on_its_own_refuses_only_its_bad_messages) {
  std::string big(c_max_bytes() + 1, 'x');
  auto out = q.send({msg("ok"), msg(big), msg("late", 16 * 60 * 1000), msg("ok too")}, now,
                    queue_state::batch_mode::each);
  ASSERT_TRUE(out);
  q.commit_send(out->token, now);
  ASSERT_EQ(out->refused.size(), 2u);
  EXPECT_EQ(code_of(out->refused[0].second), errc::message_too_large);
  EXPECT_EQ(code_of(out->refused[1].second), errc::invalid_argument);
  EXPECT_EQ(q.stats(now).visible, 2u);
  auto whole = q.send({msg("ok"), msg(big)}, now); // all or none, as topics stage copies
  ASSERT_FALSE(whole);
  EXPECT_EQ(code_of(whole.error()), errc::message_too_large);
}

TEST_F(queue_state_test, a_full_queue_refuses_sends_until_it_drains) {
  auto c = make_config();
  c.max_depth = 3;
  q.reconfigure(c);
  send({msg("a"), msg("b")});
  auto over = q.send({msg("c"), msg("d")}, now);
  ASSERT_FALSE(over);
  EXPECT_EQ(code_of(over.error()), errc::queue_full);
  EXPECT_EQ(message_of(over.error()),
            "queue 'orders' is full: it holds 2 of at most 3 messages; retry later");
  send({msg("c")});
  auto got = receive(1);
  q.ack({got[0].receipt}, now);
  send({msg("d")}); // room again
  EXPECT_EQ(q.stats(now).visible, 3u);
}

// Range events (issue 11): one journaled event may name many messages. A corrupt count must
// neither reach another segment's messages nor make recovery loop for billions of sequence
// numbers: the range is applied within its segment.
TEST(queue_state_restore, a_range_event_changes_only_its_own_segments_messages) {
  queue_config c;
  c.name = "orders";
  queue_state q{c};
  ASSERT_FALSE(q.restore_segment_index(1, 3, t0));
  ASSERT_FALSE(q.restore_segment_index(4, 2, t0));
  codec::message_event leased;
  leased.seq = 2;
  leased.count = 0xFFFFFFFF; // far past the segment's three messages
  leased.receive_count = 1;
  leased.visible_at_ms = t0 + 60'000;
  leased.in_flight = true;
  q.restore_events(1, {leased});
  codec::message_event acked;
  acked.seq = 4;
  acked.count = 0xFFFFFFFF;
  acked.removed = true;
  q.restore_events(4, {acked});
  q.finish_restore(t0);
  auto s = q.stats(t0);
  EXPECT_EQ(s.in_flight, 2u) << "messages 2 and 3 of the first segment";
  EXPECT_EQ(s.visible, 1u) << "message 1";
  EXPECT_EQ(s.visible + s.in_flight + s.delayed, 3u) << "the second segment is gone, whole";
}

TEST_F(queue_state_test, copies_whose_publication_entries_do_not_match_are_refused_not_indexed) {
  auto out = q.send({msg("a"), msg("b")}, now, queue_state::batch_mode::all_or_none, {7, {0}});
  ASSERT_FALSE(out);
  EXPECT_EQ(code_of(out.error()), errc::invalid_argument);
  EXPECT_NE(message_of(out.error()).find("1 publication entries for 2 copies"), std::string::npos)
      << message_of(out.error());
  EXPECT_EQ(q.stats(now).visible + q.stats(now).delayed, 0u) << "nothing held";
}
