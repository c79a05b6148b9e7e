// The node's memory budget ([node] max_memory, issue 11): sends wait above its soft limit and
// are refused past the limit; first the budget on its own, then on a real node on virtual time.
#include "node_fixture.hpp"

#include "ask.hpp"
#include "mailroom/memory_budget.hpp"
#include "mailroom/protocol.hpp"

#include <gtest/gtest.h>

#include <future>

using namespace mailroom;

TEST(memory_budget, holds_above_three_quarters_and_refuses_what_would_pass_the_limit) {
  memory_budget budget{1000};
  EXPECT_EQ(budget.soft_limit(), 750u);
  budget.charge(750);
  EXPECT_FALSE(budget.over_soft_limit());
  budget.charge(1);
  EXPECT_TRUE(budget.over_soft_limit());
  EXPECT_FALSE(budget.refusal(249, "queue 'q'"));
  budget.hold(1, 200);
  auto refused = budget.refusal(50, "queue 'q'");
  EXPECT_EQ(code_of(refused), errc::memory_full);
  EXPECT_NE(message_of(refused).find("queue 'q'"), std::string::npos) << message_of(refused);
  EXPECT_NE(message_of(refused).find("[node] max_memory"), std::string::npos);
  auto use = budget.use();
  EXPECT_EQ(use.used_bytes, 751u);
  EXPECT_EQ(use.held_bytes, 200u);
  EXPECT_EQ(use.held_sends, 1u);
}

TEST(memory_budget, a_node_refuses_a_budget_too_small_to_run_with) {
  test::test_dir dir;
  node_config c;
  c.data_dir = dir.path();
  c.log_level = "warn";
  c.max_memory_bytes = 1000;
  auto n = node::open(c);
  ASSERT_FALSE(n);
  EXPECT_EQ(code_of(n.error()), errc::invalid_argument);
  EXPECT_NE(message_of(n.error()).find("[node] max_memory of 1000 bytes"), std::string::npos)
      << message_of(n.error());
}

TEST(memory_budget, wakes_waiters_once_memory_falls_below_the_soft_limit_not_before) {
  memory_budget budget{1000};
  budget.charge(900);
  int woken = 0;
  budget.when_room([&] { ++woken; });
  budget.when_room([&] { ++woken; });
  budget.charge(-100); // 800: still above 750
  EXPECT_EQ(woken, 0);
  budget.charge(-50); // 750
  EXPECT_EQ(woken, 2);
  budget.charge(-10);
  EXPECT_EQ(woken, 2) << "each wake-up runs once";
  budget.when_room([&] { ++woken; }); // room now: at once
  EXPECT_EQ(woken, 3);
}

TEST(memory_budget, without_a_limit_nothing_is_held_or_refused) {
  memory_budget budget{0};
  budget.charge(int64_t{1} << 40);
  EXPECT_FALSE(budget.over_soft_limit());
  EXPECT_FALSE(budget.refusal(size_t{1} << 40, "queue 'q'"));
}

namespace {

std::vector<outgoing_message> batch_of(int count, size_t body_bytes = 100) {
  std::vector<outgoing_message> out(count);
  for (auto& m : out)
    m.body.assign(body_bytes, 'x');
  return out;
}

class node_memory_test : public node_test {
protected:
  void SetUp() override {
    queue_cache_bytes = 64 * 1024; // so the index, not cached bodies, fills the budget
    max_memory_bytes = 2 * 1024 * 1024;
    open({config("q"), config("other")});
  }

  size_t soft_limit() const { return max_memory_bytes / 4 * 3; }

  /// Sends batches of 1000 to `queue` until the node's queues hold more than the soft limit.
  /// Returns the messages sent.
  uint64_t fill_past_soft_limit(const std::string& queue = "q") {
    uint64_t sent = 0;
    while (node_->memory().used_bytes <= soft_limit()) {
      auto ids = node_->send(queue, batch_of(1000));
      EXPECT_TRUE(ids) << message_of(ids.error());
      if (!ids)
        break;
      sent += ids->size();
      node_->stats(queue); // the queue has charged its budget by the time it answers this
    }
    return sent;
  }

  /// Receives and acks up to `n` messages of `queue`; returns how many.
  uint64_t consume(const std::string& queue, uint64_t n) {
    uint64_t done = 0;
    while (done < n) {
      auto got =
          node_->receive(queue, {static_cast<uint32_t>(std::min<uint64_t>(5000, n - done)), 0, -1});
      EXPECT_TRUE(got) << message_of(got.error());
      if (!got || got->empty())
        break;
      std::vector<std::string> receipts;
      for (auto& d : *got)
        receipts.push_back(d.receipt);
      EXPECT_TRUE(node_->ack(queue, receipts));
      done += got->size();
    }
    return done;
  }
};

} // namespace

TEST_F(node_memory_test, above_the_soft_limit_sends_wait_until_consumers_free_memory) {
  auto before = fill_past_soft_limit();
  ASSERT_GT(before, 10'000u);
  // Held: neither confirmed nor in the queue, on this queue or any other.
  auto held = std::async(std::launch::async, [&] { return node_->send("q", batch_of(10)); });
  auto held_other =
      std::async(std::launch::async, [&] { return node_->send("other", batch_of(5)); });
  ASSERT_TRUE(eventually([&] { return node_->memory().held_sends == 2; }));
  EXPECT_GT(node_->memory().held_bytes, 15 * 100u);
  EXPECT_EQ(held.wait_for(std::chrono::milliseconds(0)), std::future_status::timeout);
  EXPECT_EQ(node_->stats("q")->visible, before);
  EXPECT_EQ(node_->stats("other")->visible, 0u);
  // A consumer is never held: draining frees the index, and the held sends go in.
  auto consumed = consume("q", before / 2);
  EXPECT_EQ(consumed, before / 2);
  auto ids = held.get();
  ASSERT_TRUE(ids) << message_of(ids.error());
  EXPECT_EQ(ids->size(), 10u);
  ASSERT_TRUE(held_other.get());
  EXPECT_EQ(node_->memory().held_sends, 0u);
  EXPECT_EQ(node_->memory().held_bytes, 0u);
  // Nothing lost: what was confirmed is all there, the held batch last.
  EXPECT_EQ(consume("q", before), before - consumed + 10);
  EXPECT_EQ(node_->stats("other")->visible, 5u);
}

TEST_F(node_memory_test, a_consumers_sends_are_not_held_or_it_could_never_ack) {
  fill_past_soft_limit();
  // A saga participant's replies, a transactional service's sends: held, they would keep the
  // consumer from acking, and acks are what free memory.
  auto ids = ask<std::vector<std::string>>(node_->system(), *node_->queue("other"),
                                           consumer_send_atom::value, batch_of(3));
  ASSERT_TRUE(ids) << message_of(ids.error());
  EXPECT_EQ(ids->size(), 3u);
  EXPECT_EQ(node_->memory().held_sends, 0u);
  EXPECT_EQ(node_->stats("other")->visible, 3u);
}

TEST_F(node_memory_test, a_send_that_would_pass_the_limit_is_refused_naming_it_then_taken_again) {
  auto before = fill_past_soft_limit();
  // 10 x 200 KiB: more than the whole budget; refused at once, not held.
  auto refused = node_->send("q", batch_of(10, 200 * 1024));
  ASSERT_FALSE(refused);
  EXPECT_EQ(code_of(refused.error()), errc::memory_full) << message_of(refused.error());
  EXPECT_NE(message_of(refused.error()).find("[node] max_memory"), std::string::npos)
      << message_of(refused.error());
  EXPECT_EQ(node_->memory().held_sends, 0u);
  EXPECT_EQ(node_->stats("q")->visible, before);
  consume("q", before);
  EXPECT_LT(node_->memory().used_bytes, soft_limit());
  EXPECT_TRUE(node_->send("q", batch_of(10)));
}

TEST_F(node_memory_test, deleting_a_queue_answers_its_held_sends_and_frees_its_memory) {
  fill_past_soft_limit();
  auto held = std::async(std::launch::async, [&] { return node_->send("q", batch_of(10)); });
  ASSERT_TRUE(eventually([&] { return node_->memory().held_sends == 1; }));
  ASSERT_FALSE(node_->delete_queue("q"));
  auto answer = held.get();
  ASSERT_FALSE(answer);
  EXPECT_EQ(code_of(answer.error()), errc::unavailable) << message_of(answer.error());
  EXPECT_TRUE(eventually([&] {
    auto use = node_->memory();
    return use.held_sends == 0 && use.held_bytes == 0 && use.used_bytes < 64 * 1024;
  })) << node_->memory().used_bytes;
}

TEST_F(node_memory_test, a_node_restarted_over_its_budget_serves_consumers_and_holds_sends) {
  auto before = fill_past_soft_limit();
  reopen();
  node_->stats("q"); // the queue has charged its budget by the time it answers this
  EXPECT_GT(node_->memory().used_bytes, soft_limit()) << "recovery charges the index it reads";
  auto held = std::async(std::launch::async, [&] { return node_->send("q", batch_of(1)); });
  ASSERT_TRUE(eventually([&] { return node_->memory().held_sends == 1; }));
  EXPECT_EQ(consume("q", before), before);
  ASSERT_TRUE(held.get());
  EXPECT_EQ(consume("q", 10), 1u);
}

TEST_F(node_test, short_of_memory_a_queue_gives_back_its_cache_before_any_send_waits) {
  queue_cache_bytes = 8 << 20; // more than the soft limit: only squeezing keeps sends going
  max_memory_bytes = 8 << 20;
  open({config("big")});
  for (int b = 0; b < 10; ++b) {
    std::vector<outgoing_message> batch(1000);
    for (auto& m : batch)
      m.body.assign(1024, static_cast<char>('a' + b));
    ASSERT_TRUE(node_->send("big", std::move(batch))) << "batch " << b;
    node_->stats("big"); // the queue has charged (and squeezed) by the time it answers this
    EXPECT_LE(node_->memory().used_bytes, max_memory_bytes / 4 * 3) << "batch " << b;
  }
  for (int b = 0; b < 10; ++b) { // every body still there, read back from the journal
    auto got = node_->receive("big", {1000, 0, -1});
    ASSERT_TRUE(got && got->size() == 1000u) << "batch " << b;
    EXPECT_EQ((*got)[999].message->body, std::string(1024, static_cast<char>('a' + b)));
    std::vector<std::string> receipts;
    for (auto& d : *got)
      receipts.push_back(d.receipt);
    ASSERT_TRUE(node_->ack("big", receipts));
  }
}
