// A real node (actors, journal, SQLite on disk) on a virtual clock: what a user of the embedded
// C++ API relies on, including recovery when the node is reopened.
#include "mailroom/node.hpp"

#include "mailroom/error.hpp"
#include "mailroom/protocol.hpp"
#include "mailroom/service.hpp"
#include "journal.hpp"
#include "node_fixture.hpp"

#include <caf/send.hpp>
#include <sqlite3.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>
#include <thread>

using namespace mailroom;

TEST_F(node_test, confirmed_sends_acks_and_leases_survive_a_reopen) {
  open();
  ASSERT_FALSE(node_->create_queue(config("orders")));
  auto ids = node_->send("orders", bodies({"a", "b", "c"}));
  ASSERT_TRUE(ids) << message_of(ids.error());
  auto got = node_->receive("orders", {2, 0, -1});
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 2u);
  auto acked = node_->ack("orders", {(*got)[0].receipt});
  ASSERT_TRUE(acked);
  EXPECT_EQ((*acked)[0].error_code, "");

  reopen();
  auto s = node_->stats("orders");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->visible, 1u) << "c was never delivered";
  EXPECT_EQ(s->in_flight, 1u) << "b's lease still runs after the restart";
  auto still_leased = node_->receive("orders", {10, 0, -1});
  ASSERT_EQ(still_leased->size(), 1u);
  EXPECT_EQ((*still_leased)[0].message->body, "c");
  node_->ack("orders", {(*still_leased)[0].receipt});

  advance(30'000 + 1'000); // b's lease ends, then its backoff
  auto redelivered = node_->receive("orders", {10, 0, -1});
  ASSERT_EQ(redelivered->size(), 1u);
  EXPECT_EQ((*redelivered)[0].message->body, "b");
  EXPECT_EQ((*redelivered)[0].message->id, (*ids)[1]) << "same id across restart";
  EXPECT_EQ((*redelivered)[0].receive_count, 2u);
}

TEST_F(node_test, dead_letters_arrive_with_their_record_and_redrive_keeps_id_and_history) {
  auto q = config("orders");
  q.max_receive_count = 1;
  q.dead_letter_target = "orders-dlq";
  open({q});
  auto ids = node_->send("orders", bodies({"poison"}));
  auto got = node_->receive("orders", {1, 0, -1});
  ASSERT_EQ(got->size(), 1u);
  ASSERT_TRUE(node_->nack("orders", {{(*got)[0].receipt, -1, "", "cannot parse"}}));
  std::vector<dead_letter> dead;
  ASSERT_TRUE(eventually([&] {
    dead = *node_->dead_letters("orders-dlq", 10);
    return dead.size() == 1;
  }));
  EXPECT_EQ(dead[0].message.id, (*ids)[0]);
  EXPECT_EQ(dead[0].death.reason, "max_receives");
  EXPECT_EQ(dead[0].death.error, "cannot parse");
  EXPECT_EQ(dead[0].death.source, "orders");
  EXPECT_EQ(dead[0].death.receive_count, 1u);
  EXPECT_TRUE(eventually([&] { return node_->stats("orders")->dead_lettered == 1; }));

  reopen();
  ASSERT_EQ(node_->dead_letters("orders-dlq", 10)->size(), 1u) << "sinks are durable too";
  EXPECT_EQ(node_->stats("orders")->visible + node_->stats("orders")->delayed, 0u)
      << "the message left the queue for good";

  redrive_request dry;
  dry.dry_run = true;
  auto preview = node_->redrive("orders-dlq", dry);
  ASSERT_TRUE(preview);
  EXPECT_EQ(preview->moved, 1u);
  EXPECT_EQ(node_->dead_letters("orders-dlq", 10)->size(), 1u) << "a dry run moves nothing";

  auto moved = node_->redrive("orders-dlq", {});
  ASSERT_TRUE(moved) << message_of(moved.error());
  EXPECT_EQ(moved->moved, 1u);
  EXPECT_TRUE(node_->dead_letters("orders-dlq", 10)->empty());
  auto back = node_->receive("orders", {1, 0, -1});
  ASSERT_EQ(back->size(), 1u);
  const auto& m = *(*back)[0].message;
  EXPECT_EQ(m.id, (*ids)[0]);
  ASSERT_EQ(m.history.size(), 1u);
  EXPECT_EQ(m.history[0].reason, "max_receives");
  EXPECT_EQ((*back)[0].receive_count, 1u) << "receive count starts over after redrive";
}

TEST_F(node_test, redrive_to_an_unknown_queue_is_refused_and_loses_nothing) {
  auto q = config("orders");
  q.dead_letter_target = "dlq";
  open({q});
  node_->send("orders", bodies({"x"}));
  auto got = node_->receive("orders", {1, 0, -1});
  node_->nack("orders", {{(*got)[0].receipt, -1, "bad", ""}});
  ASSERT_TRUE(eventually([&] { return node_->dead_letters("dlq", 10)->size() == 1; }));
  redrive_request r;
  r.to = "nowhere";
  auto moved = node_->redrive("dlq", r);
  ASSERT_FALSE(moved);
  EXPECT_EQ(code_of(moved.error()), errc::unknown_queue);
  EXPECT_EQ(message_of(moved.error()), "no queue named 'nowhere'");
  EXPECT_EQ(node_->dead_letters("dlq", 10)->size(), 1u);
}

TEST_F(node_test, a_long_poll_returns_as_soon_as_a_message_arrives) {
  open({config("orders")});
  auto polling = std::async(std::launch::async, [&] {
    return node_->receive("orders", {5, 20'000, -1});
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  node_->send("orders", bodies({"late"}));
  auto got = polling.get();
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].message->body, "late");
}

TEST_F(node_test, bad_requests_get_errors_naming_the_problem) {
  open({config("orders")});
  auto unknown = node_->send("nope", bodies({"a"}));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(code_of(unknown.error()), errc::unknown_queue);
  EXPECT_EQ(message_of(unknown.error()), "no queue named 'nope'");
  auto wait = node_->receive("orders", {1, 21'000, -1});
  ASSERT_FALSE(wait);
  EXPECT_EQ(message_of(wait.error()), "queue 'orders': wait 21000ms is outside 0s..20s");
  auto zero = node_->receive("orders", {0, 0, -1});
  ASSERT_FALSE(zero);
  EXPECT_EQ(code_of(zero.error()), errc::invalid_argument);
  auto other = config("orders");
  other.visibility_timeout_ms = 5'000;
  EXPECT_EQ(code_of(node_->create_queue(other)), errc::already_exists);
  EXPECT_FALSE(node_->create_queue(config("orders"))) << "same config: idempotent";
  EXPECT_EQ(code_of(node_->change_visibility("orders", "1.1", 0)), errc::unknown_receipt);
}

TEST_F(node_test, declared_queues_are_reconfigured_on_open) {
  open({config("orders")});
  node_.reset();
  auto changed = config("orders");
  changed.visibility_timeout_ms = 5'000;
  open({changed});
  EXPECT_EQ(node_->queue_configuration("orders")->visibility_timeout_ms, 5'000);
}

TEST_F(node_test, deleting_a_queue_removes_it_and_its_messages_for_good) {
  open();
  node_->create_queue(config("tmp"));
  node_->send("tmp", bodies({"a"}));
  ASSERT_FALSE(node_->delete_queue("tmp"));
  EXPECT_EQ(code_of(node_->delete_queue("tmp")), errc::unknown_queue);
  reopen();
  EXPECT_TRUE(node_->queue_names().empty());
}

TEST_F(node_test, a_service_retries_a_throwing_handler_then_acks) {
  auto q = config("jobs");
  q.retry = {0, 1.0, 0}; // retry at once: the test is about the outcome, not the wait
  open({q});
  std::atomic<int> calls{0};
  std::promise<uint32_t> acked_on;
  auto svc = spawn_service(*node_, {"jobs", 8, 2, -1},
                           [&](const envelope& m, uint32_t receive_count) -> outcome {
                             if (++calls == 1)
                               throw std::runtime_error("flaky dependency");
                             acked_on.set_value(receive_count);
                             return outcome::ack();
                           });
  ASSERT_TRUE(svc) << message_of(svc.error());
  node_->send("jobs", bodies({"work"}));
  auto done = acked_on.get_future();
  ASSERT_EQ(done.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(done.get(), 2u) << "second delivery succeeded";
  EXPECT_TRUE(eventually([&] { return node_->stats("jobs")->acked == 1; }));
}

TEST_F(node_test, a_service_handler_can_dead_letter_with_a_reason) {
  auto q = config("jobs");
  q.dead_letter_target = "jobs-dlq";
  open({q});
  auto svc = spawn_service(*node_, {"jobs", 8, 1, -1}, [](const envelope&, uint32_t) {
    return outcome::dead_letter("invalid customer id");
  });
  ASSERT_TRUE(svc);
  node_->send("jobs", bodies({"bad"}));
  std::vector<dead_letter> dead;
  ASSERT_TRUE(eventually([&] {
    dead = *node_->dead_letters("jobs-dlq", 10);
    return dead.size() == 1;
  }));
  EXPECT_EQ(dead[0].death.reason, "rejected");
  EXPECT_EQ(dead[0].death.error, "invalid customer id");
}

TEST_F(node_test, spawn_service_refuses_unknown_queues_and_zero_limits) {
  open({config("jobs")});
  auto handler = [](const envelope&, uint32_t) { return outcome::ack(); };
  EXPECT_EQ(code_of(spawn_service(*node_, {"nope", 8, 1, -1}, handler).error()),
            errc::unknown_queue);
  EXPECT_EQ(code_of(spawn_service(*node_, {"jobs", 0, 1, -1}, handler).error()),
            errc::invalid_argument);
}

TEST_F(node_test, a_receipt_from_before_a_restart_never_acks_a_newer_message) {
  open({config("orders")});
  node_->send("orders", bodies({"old"}));
  auto old = node_->receive("orders", {1, 0, -1});
  ASSERT_EQ(old->size(), 1u);
  ASSERT_EQ((*node_->ack("orders", {(*old)[0].receipt}))[0].error_code, "");
  reopen(); // the newest (and only) segment is gone: its sequence numbers must stay used
  node_->send("orders", bodies({"new"}));
  auto stale = node_->ack("orders", {(*old)[0].receipt});
  ASSERT_TRUE(stale);
  EXPECT_EQ((*stale)[0].error_code, "unknown_receipt");
  auto fresh = node_->receive("orders", {1, 0, -1});
  ASSERT_EQ(fresh->size(), 1u);
  EXPECT_EQ((*fresh)[0].message->body, "new");
  EXPECT_NE((*fresh)[0].receipt, (*old)[0].receipt);
}

TEST_F(node_test, a_corrupt_journal_record_is_reported_as_corruption_not_ignored) {
  open({config("orders")});
  node_->send("orders", bodies({"a"}));
  node_.reset();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir.path() + "/journal.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE segments SET messages = x'0102030405060708'", nullptr,
                           nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  node_config c;
  c.data_dir = dir.path();
  c.log_level = "off";
  c.clock = clock;
  // Recovery reads the segments' index only; the bodies are read when they are delivered.
  auto n = node::open(c);
  ASSERT_TRUE(n) << message_of(n.error());
  auto got = (*n)->receive("orders", {1, 0, -1});
  ASSERT_FALSE(got) << got->size() << " message(s)";
  EXPECT_EQ(code_of(got.error()), errc::corruption);
  EXPECT_EQ(message_of(got.error()).rfind("queue 'orders': segment:", 0), 0u)
      << message_of(got.error());
  EXPECT_EQ((*n)->stats("orders")->visible, 1u); // and the message is still there
}

TEST_F(node_test, a_rate_limited_redrive_moves_one_chunk_per_second) {
  auto q = config("orders");
  q.dead_letter_target = "dlq";
  open({q});
  node_->send("orders", bodies({"a", "b"}));
  auto got = node_->receive("orders", {2, 0, -1});
  ASSERT_EQ(got->size(), 2u);
  node_->nack("orders", {{(*got)[0].receipt, -1, "x", ""}, {(*got)[1].receipt, -1, "x", ""}});
  ASSERT_TRUE(eventually([&] { return node_->dead_letters("dlq", 10)->size() == 2; }));
  redrive_request r;
  r.rate_per_s = 1;
  auto moving = std::async(std::launch::async, [&] { return node_->redrive("dlq", r); });
  EXPECT_TRUE(eventually([&] { return node_->stats("orders")->visible == 1; }));
  EXPECT_EQ(moving.wait_for(std::chrono::milliseconds(20)), std::future_status::timeout)
      << "the second chunk waits while virtual time stands still";
  auto start = clock->now_ms();
  EXPECT_TRUE(eventually([&] {
    advance(100);
    return moving.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready;
  }));
  EXPECT_GE(clock->now_ms() - start, 1'000) << "the second chunk went a (virtual) second later";
  auto moved = moving.get();
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->moved, 2u);
  EXPECT_EQ(node_->stats("orders")->visible, 2u);
}

TEST_F(node_test, a_long_poll_on_an_empty_queue_answers_empty_when_its_wait_ends) {
  open({config("orders")});
  auto polling = std::async(std::launch::async, [&] {
    return node_->receive("orders", {5, 20'000, -1});
  });
  EXPECT_EQ(polling.wait_for(std::chrono::milliseconds(50)), std::future_status::timeout);
  // Virtual time: the wait is over. Repeated, in case the poll reached the queue only now.
  ASSERT_TRUE(eventually([&] {
    advance(20'000);
    return polling.wait_for(std::chrono::milliseconds(10)) == std::future_status::ready;
  }));
  auto got = polling.get();
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->empty());
}

// Issue 9, bug 1: a receive did not arm the lease timer, so on a queue with no other traffic an
// expired lease stayed in flight until some send or long poll woke the queue.
TEST_F(node_test, an_expired_lease_on_a_quiet_queue_comes_back_by_itself) {
  auto q = config("orders");
  q.visibility_timeout_ms = 2'000;
  open({q});
  ASSERT_TRUE(node_->send("orders", bodies({"x"})));
  auto got = node_->receive("orders", {1, 0, -1});
  ASSERT_EQ(got->size(), 1u);
  advance(6'000); // the consumer died holding it: its lease (2 s) and backoff (≤ 1 s) pass
  auto stats = node_->stats("orders");
  EXPECT_EQ(stats->in_flight, 0u) << "the lease ended";
  EXPECT_EQ(stats->visible, 1u);
  auto again = node_->receive("orders", {1, 0, -1});
  ASSERT_EQ(again->size(), 1u);
  EXPECT_EQ((*again)[0].message->body, "x");
  EXPECT_EQ((*again)[0].receive_count, 2u);
}

TEST_F(node_test, a_long_poll_gets_a_message_whose_delay_ends_on_the_virtual_clock) {
  open({config("orders")});
  auto delayed = bodies({"later"});
  delayed[0].delay_ms = 5'000;
  ASSERT_TRUE(node_->send("orders", delayed));
  auto polling = std::async(std::launch::async, [&] {
    return node_->receive("orders", {1, 20'000, -1});
  });
  advance(5'000);
  auto got = polling.get();
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].message->body, "later");
}

// Issue 10: creating a sink was check-then-act: two concurrent creates of one name both found no
// sink, both journaled it and spawned an actor each; the registry kept the second, and a queue
// that had looked the first up dead-lettered into an actor nobody could list.
TEST_F(node_test, concurrent_creates_of_one_sink_create_it_once) {
  open();
  auto& log = node_->journal_internal();
  for (int i = 0; i < 20; ++i) {
    auto name = "dlq-" + std::to_string(i);
    auto before = log.stats().batches;
    std::latch start{2}; // both check at once, as two clients' calls do
    auto create = [&] {
      start.arrive_and_wait();
      EXPECT_FALSE(node_->create_dead_letter_sink(name));
    };
    std::thread a{create}, b{create};
    a.join();
    b.join();
    EXPECT_EQ(log.stats().batches - before, 1u) << name << " was journaled twice";
  }
  EXPECT_EQ(node_->dead_letter_sink_names().size(), 20u);
}
