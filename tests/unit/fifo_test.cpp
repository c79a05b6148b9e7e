// FIFO queues on virtual time: message groups, strict order within a group under retries, one
// message in flight per group, other groups unblocked; and across a reopen of a real node.
#include "queue/queue_state.hpp"
#include "mailroom/error.hpp"
#include "node_fixture.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

using namespace mailroom;

namespace {

outgoing_message in_group(std::string group, std::string body) {
  outgoing_message m;
  m.body = std::move(body);
  m.group_id = std::move(group);
  return m;
}

class fifo_state_test : public ::testing::Test {
protected:
  fifo_state_test() : q(config()) {}

  static queue_config config() {
    queue_config c;
    c.name = "ledger";
    c.fifo = true;
    c.visibility_timeout_ms = 10'000;
    c.retry = {1'000, 1.0, 1'000};
    c.max_receive_count = 3;
    c.dead_letter_target = "ledger-dlq";
    return c;
  }

  void send(std::vector<outgoing_message> batch) {
    auto out = q.send(std::move(batch), now);
    ASSERT_TRUE(out) << message_of(out.error());
    q.commit_send(out->token, now);
  }

  /// Bodies of a receive of up to 10 messages.
  std::vector<std::string> receive() {
    auto out = q.receive(10, -1, now);
    last.insert(last.end(), out.deliveries.begin(), out.deliveries.end());
    for (auto& d : out.dead)
      dead.push_back(d.seq);
    std::vector<std::string> bodies;
    for (const auto& d : out.deliveries)
      bodies.push_back(d.message->body);
    return bodies;
  }

  /// The receipt of the latest delivery of `body`.
  std::string receipt_of(const std::string& body) const {
    for (auto it = last.rbegin(); it != last.rend(); ++it)
      if (it->message->body == body)
        return it->receipt;
    ADD_FAILURE() << body << " was never received";
    return {};
  }

  void advance_by(int64_t ms) {
    now += ms;
    auto out = q.advance(now);
    for (auto& d : out.dead)
      dead.push_back(d.seq);
  }

  using strings = std::vector<std::string>;
  int64_t now = 1'700'000'000'000;
  queue_state q;
  std::vector<delivery> last; // every delivery so far
  std::vector<uint64_t> dead;
};

} // namespace

TEST_F(fifo_state_test, one_message_per_group_is_in_flight_and_groups_do_not_block_each_other) {
  send({in_group("a", "a1"), in_group("a", "a2"), in_group("b", "b1"), in_group("a", "a3")});
  EXPECT_EQ(receive(), (strings{"a1", "b1"}));
  EXPECT_TRUE(receive().empty()) << "a2 waits for a1, b has nothing more";
  q.ack({receipt_of("a1")}, now);
  EXPECT_EQ(receive(), (strings{"a2"}));
  q.ack({receipt_of("a2")}, now);
  EXPECT_EQ(receive(), (strings{"a3"}));
}

TEST_F(fifo_state_test, a_retried_head_keeps_its_group_in_order) {
  send({in_group("a", "a1"), in_group("a", "a2"), in_group("b", "b1"), in_group("b", "b2")});
  EXPECT_EQ(receive(), (strings{"a1", "b1"}));
  q.nack({{receipt_of("a1"), -1, "", "db down"}}, now); // a1 retries after 1s
  q.ack({receipt_of("b1")}, now);
  EXPECT_EQ(receive(), (strings{"b2"})) << "a2 must not overtake a1";
  advance_by(1'000);
  EXPECT_EQ(receive(), (strings{"a1"}));
  q.ack({receipt_of("a1")}, now);
  EXPECT_EQ(receive(), (strings{"a2"}));
}

TEST_F(fifo_state_test, an_expired_lease_redelivers_the_head_before_the_rest) {
  send({in_group("a", "a1"), in_group("a", "a2")});
  EXPECT_EQ(receive(), (strings{"a1"}));
  advance_by(10'000 + 1'000); // lease, then backoff
  EXPECT_EQ(receive(), (strings{"a1"}));
}

TEST_F(fifo_state_test, a_dead_lettered_head_unblocks_its_group) {
  send({in_group("a", "a1"), in_group("a", "a2")});
  EXPECT_EQ(receive(), (strings{"a1"}));
  auto out = q.nack({{receipt_of("a1"), -1, "poison", "cannot parse"}}, now);
  ASSERT_EQ(out.dead.size(), 1u);
  EXPECT_TRUE(receive().empty()) << "until the sink has it, a1 still holds the group";
  q.finish_dead_letters({out.dead[0].seq});
  EXPECT_EQ(receive(), (strings{"a2"}));
}

TEST_F(fifo_state_test, sends_without_a_group_or_with_their_own_delay_are_refused) {
  auto no_group = q.send({in_group("", "x")}, now);
  ASSERT_FALSE(no_group);
  EXPECT_NE(message_of(no_group.error()).find("needs a group id"), std::string::npos);
  auto delayed = in_group("a", "x");
  delayed.delay_ms = 5'000;
  auto r = q.send({delayed}, now);
  ASSERT_FALSE(r);
  EXPECT_NE(message_of(r.error()).find("cannot have its own delay"), std::string::npos);
}

class fifo_node_test : public node_test {};

TEST_F(fifo_node_test, group_order_and_leases_survive_a_reopen) {
  auto c = config("ledger");
  c.fifo = true;
  open({c});
  ASSERT_TRUE(
      node_->send("ledger", {in_group("a", "a1"), in_group("a", "a2"), in_group("b", "b1")}));
  auto got = node_->receive("ledger", {10, 0, -1});
  ASSERT_EQ(got->size(), 2u);
  reopen();
  EXPECT_TRUE(node_->receive("ledger", {10, 0, -1})->empty())
      << "a1 and b1 are still leased; a2 waits for a1";
  advance(30'000 + 1'000);
  auto again = node_->receive("ledger", {10, 0, -1});
  ASSERT_EQ(again->size(), 2u);
  std::set<std::string> bodies;
  for (const auto& d : *again)
    bodies.insert(d.message->group_id + ":" + d.message->body);
  EXPECT_EQ(bodies, (std::set<std::string>{"a:a1", "b:b1"})) << "a1 again, not a2";
  auto changed = c;
  changed.fifo = false;
  EXPECT_EQ(code_of(node_->put_queue(changed)), errc::invalid_argument);
}

TEST_F(fifo_state_test, under_random_failures_every_group_is_acked_in_send_order) {
  std::map<std::string, std::vector<std::string>> sent, acked;
  std::vector<outgoing_message> batch;
  for (int i = 0; i < 40; ++i)
    for (auto g : {"a", "b", "c", "d", "e"}) {
      auto body = std::string{g} + std::to_string(i);
      sent[g].push_back(body);
      batch.push_back(in_group(g, body));
    }
  send(batch);
  std::mt19937 rng{7};
  auto queue = config();
  queue.max_receive_count = 0; // retry forever: every message must be acked in the end
  queue.dead_letter_target.clear();
  q.reconfigure(queue);
  for (int round = 0;
       round < 2'000 && q.stats(now).visible + q.stats(now).delayed + q.stats(now).in_flight > 0;
       ++round) {
    auto out = q.receive(10, -1, now);
    std::set<std::string> groups_in_batch;
    for (const auto& d : out.deliveries) {
      ASSERT_TRUE(groups_in_batch.insert(d.message->group_id).second) << "two of one group";
      if (rng() % 3 == 0) {
        q.nack({{d.receipt, -1, "", "flaky"}}, now);
      } else {
        q.ack({d.receipt}, now);
        acked[d.message->group_id].push_back(d.message->body);
      }
    }
    advance_by(1'000);
  }
  EXPECT_EQ(acked, sent);
}
