// A queue whose dead letters go to another queue (SQS's dead-letter queues) and the message
// move tasks that take them back: on a real node and virtual time.
#include "mailroom/node.hpp"

#include "mailroom/error.hpp"
#include "node_fixture.hpp"

#include <gtest/gtest.h>

using namespace mailroom;

namespace {

class dead_letter_queue_test : public node_test {
protected:
  /// "orders" dead-letters to the queue "orders-dlq" after `receives` receives.
  void open_pair(uint32_t receives = 1) {
    auto q = config("orders");
    q.max_receive_count = receives;
    q.dead_letter_queue = "orders-dlq";
    open({config("orders-dlq"), q});
  }

  /// Sends `bodies` to orders and rejects each once, so each dies (max receive count 1).
  std::vector<std::string> kill(std::initializer_list<const char*> xs) {
    auto ids = node_->send("orders", bodies(xs));
    EXPECT_TRUE(ids);
    auto got = node_->receive("orders", {static_cast<uint32_t>(xs.size()), 0, -1});
    std::vector<nack_request> nacks;
    for (const auto& d : *got)
      nacks.push_back({d.receipt, -1, "", "cannot parse"});
    EXPECT_TRUE(node_->nack("orders", nacks));
    EXPECT_TRUE(eventually([&] { return node_->stats("orders-dlq")->visible == xs.size(); }));
    return *ids;
  }
};

TEST_F(dead_letter_queue_test, a_dead_message_arrives_in_the_queue_with_its_id_and_death_record) {
  open_pair();
  auto ids = kill({"poison"});
  reopen();
  auto got = node_->receive("orders-dlq", {10, 0, -1});
  ASSERT_EQ(got->size(), 1u) << "durable in the dead-letter queue across a reopen";
  const auto& m = *(*got)[0].message;
  EXPECT_EQ(m.id, ids[0]);
  EXPECT_EQ(m.body, "poison");
  ASSERT_EQ(m.history.size(), 1u);
  EXPECT_EQ(m.history[0].source, "orders");
  EXPECT_EQ(m.history[0].reason, "max_receives");
  EXPECT_EQ(m.history[0].error, "cannot parse");
  auto s = node_->stats("orders");
  EXPECT_EQ(s->visible + s->in_flight + s->delayed, 0u) << "it left the source for good";
  EXPECT_EQ(node_->dead_letter_sources("orders-dlq"), std::vector<std::string>{"orders"});
  EXPECT_TRUE(node_->dead_letter_sources("orders").empty());
}

TEST_F(dead_letter_queue_test, a_missing_dead_letter_queue_keeps_the_message_until_it_exists) {
  auto q = config("orders");
  q.max_receive_count = 1;
  q.dead_letter_queue = "later";
  open({q});
  node_->send("orders", bodies({"x"}));
  auto got = node_->receive("orders", {1, 0, -1});
  node_->nack("orders", {{(*got)[0].receipt, -1, "", "boom"}});
  ASSERT_FALSE(node_->create_queue(config("later")));
  // Refused, it waits a second in the source and goes on its next delivery attempt.
  EXPECT_TRUE(eventually([&] {
    advance(1'000);
    EXPECT_TRUE(node_->receive("orders", {1, 0, -1})->empty()) << "never delivered again";
    return node_->stats("later")->visible == 1;
  }));
}

TEST_F(dead_letter_queue_test, a_queue_takes_a_sink_or_a_queue_for_its_dead_letters_not_both) {
  auto q = config("orders");
  q.dead_letter_queue = "a";
  q.dead_letter_target = "b";
  auto err = validate(q);
  ASSERT_TRUE(err);
  EXPECT_NE(message_of(err).find("not both"), std::string::npos) << message_of(err);
  q.dead_letter_target.clear();
  q.dead_letter_queue = "orders";
  EXPECT_TRUE(validate(q)) << "not itself";
  q.dead_letter_queue = "bad name!";
  EXPECT_TRUE(validate(q));
}

TEST_F(dead_letter_queue_test, a_move_task_takes_each_message_back_to_its_source_with_its_id) {
  open_pair();
  ASSERT_FALSE(node_->create_queue(config("elsewhere")));
  auto ids = kill({"a", "b", "c"});
  auto started = node_->start_message_move({"orders-dlq", "", 0});
  ASSERT_TRUE(started) << message_of(started.error());
  EXPECT_EQ(started->to_move, 3u);
  ASSERT_TRUE(eventually([&] {
    auto tasks = node_->message_moves("orders-dlq");
    return !tasks->empty() && tasks->front().status == "COMPLETED";
  }));
  auto task = node_->message_moves("orders-dlq")->front();
  EXPECT_EQ(task.handle, started->handle);
  EXPECT_EQ(task.moved, 3u);
  EXPECT_EQ(node_->stats("orders-dlq")->visible + node_->stats("orders-dlq")->in_flight, 0u);
  auto back = node_->receive("orders", {10, 0, -1});
  ASSERT_EQ(back->size(), 3u);
  std::vector<std::string> got;
  for (const auto& d : *back) {
    got.push_back(d.message->id);
    EXPECT_EQ(d.receive_count, 1u) << "counted from the start again";
    EXPECT_EQ(d.message->history.size(), 1u) << "its death stays in its history";
  }
  std::sort(got.begin(), got.end());
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(got, ids);
}

TEST_F(dead_letter_queue_test, a_rate_limited_move_takes_one_chunk_per_virtual_second) {
  open_pair();
  ASSERT_FALSE(node_->create_queue(config("elsewhere")));
  kill({"a", "b", "c"});
  auto started = node_->start_message_move({"orders-dlq", "elsewhere", 1});
  ASSERT_TRUE(started) << message_of(started.error());
  ASSERT_TRUE(eventually([&] { return node_->stats("elsewhere")->visible == 1; }));
  EXPECT_EQ(node_->message_moves("orders-dlq")->front().status, "RUNNING");
  EXPECT_EQ(node_->stats("elsewhere")->visible, 1u) << "virtual time stands still";
  // The mover sets its next timer once the first chunk is durable, which may come after an
  // advance: time moves in small steps until the second chunk went.
  auto start = clock->now_ms();
  ASSERT_TRUE(eventually([&] {
    advance(100);
    return node_->stats("elsewhere")->visible >= 2;
  }));
  EXPECT_GE(clock->now_ms() - start, 1'000) << "a (virtual) second later";
  auto again = node_->start_message_move({"orders-dlq", "", 0});
  ASSERT_FALSE(again) << "one running task per source";
  EXPECT_NE(message_of(again.error()).find("already has a message move task"), std::string::npos);

  auto cancelled = node_->cancel_message_move(started->handle);
  ASSERT_TRUE(cancelled) << message_of(cancelled.error());
  ASSERT_TRUE(eventually([&] {
    advance(100);
    return node_->message_moves("orders-dlq")->front().status == "CANCELLED";
  }));
  EXPECT_EQ(node_->stats("elsewhere")->visible, 2u) << "nothing moved after the cancel";
  EXPECT_EQ(node_->stats("orders-dlq")->visible, 1u) << "the rest stays where it was";
  EXPECT_FALSE(node_->cancel_message_move(started->handle)) << "no longer running";
}

TEST_F(dead_letter_queue_test, move_tasks_refuse_what_is_not_a_dead_letter_queue_naming_it) {
  open_pair();
  auto not_dlq = node_->start_message_move({"orders", "", 0});
  ASSERT_FALSE(not_dlq);
  EXPECT_NE(message_of(not_dlq.error()).find("is no queue's dead-letter queue"), std::string::npos);
  EXPECT_FALSE(node_->start_message_move({"nope", "", 0}));
  EXPECT_FALSE(node_->start_message_move({"orders-dlq", "nope", 0}));
  auto fast = node_->start_message_move({"orders-dlq", "", 501});
  ASSERT_FALSE(fast);
  EXPECT_NE(message_of(fast.error()).find("500"), std::string::npos);
  EXPECT_FALSE(node_->cancel_message_move("no-such-task"));
}

TEST_F(dead_letter_queue_test, a_message_that_never_died_fails_a_move_to_its_source_and_stays) {
  open_pair();
  node_->send("orders-dlq", bodies({"sent here directly"}));
  auto started = node_->start_message_move({"orders-dlq", "", 0});
  ASSERT_TRUE(started);
  ASSERT_TRUE(
      eventually([&] { return node_->message_moves("orders-dlq")->front().status == "FAILED"; }));
  auto task = node_->message_moves("orders-dlq")->front();
  EXPECT_NE(task.failure.find("never died in a queue"), std::string::npos) << task.failure;
  EXPECT_TRUE(eventually([&] { return node_->stats("orders-dlq")->visible == 1; }))
      << "given back at once, not after its lease";
}

} // namespace
