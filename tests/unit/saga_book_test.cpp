// The saga manager's book on virtual time (time is an argument): timers per instance, the memory
// of finished keyed instances, and the metrics.
#include "saga/saga_book.hpp"

#include <gtest/gtest.h>

using namespace mailroom;

TEST(saga_book, an_instance_has_one_timer_and_due_ones_come_earliest_first) {
  saga_book book;
  book.wake_at("a", 5'000);
  book.wake_at("b", 2'000);
  book.wake_at("c", 9'000);
  book.wake_at("a", 3'000); // replaces a's 5 s timer
  EXPECT_EQ(book.next_wake(), 2'000);
  EXPECT_TRUE(book.due(1'999).empty());
  EXPECT_EQ(book.due(4'000), (std::vector<std::string>{"b", "a"}));
  EXPECT_TRUE(book.due(5'000).empty()) << "a's replaced timer fired";
  book.cancel_wake("c");
  EXPECT_EQ(book.next_wake(), std::nullopt);
  EXPECT_TRUE(book.due(100'000).empty());
  book.cancel_wake("nobody"); // harmless
}

TEST(saga_book, a_finished_keyed_instance_is_remembered_for_ten_minutes) {
  saga_book book;
  book.finished_with_key("old", 0);
  book.finished_with_key("new", saga_book::finished_memory_ms);
  EXPECT_TRUE(book.finished_recently("old")) << "exactly ten minutes: still remembered";
  book.finished_with_key("newer", saga_book::finished_memory_ms + 1);
  EXPECT_FALSE(book.finished_recently("old"));
  EXPECT_TRUE(book.finished_recently("new"));
  EXPECT_TRUE(book.finished_recently("newer"));
}

TEST(saga_book, metrics_count_instances_by_state_and_their_ends_once) {
  saga_book book;
  book.started();
  book.moved(std::nullopt, saga_status::running);
  book.started();
  book.moved(std::nullopt, saga_status::running);
  book.moved(std::nullopt, saga_status::parked); // recovered
  book.moved(saga_status::running, saga_status::compensating);
  book.compensations_sent(2);
  book.moved(saga_status::compensating, saga_status::compensated);
  book.moved(saga_status::running, saga_status::completed);
  auto m = book.metrics();
  EXPECT_EQ(m.started, 2u);
  EXPECT_EQ(m.running, 0u);
  EXPECT_EQ(m.compensating, 0u);
  EXPECT_EQ(m.parked, 1u);
  EXPECT_EQ(m.completed, 1u);
  EXPECT_EQ(m.compensated, 1u);
  EXPECT_EQ(m.compensations_sent, 2u);
}

TEST(saga_book, step_latency_percentiles_come_from_the_most_recent_replies) {
  saga_book book;
  for (int i = 1; i <= 100; ++i)
    book.step_replied(i);
  auto m = book.metrics();
  EXPECT_EQ(m.step_replies, 100u);
  EXPECT_EQ(m.step_latency_p50_ms, 50);
  EXPECT_EQ(m.step_latency_p99_ms, 99);
  for (size_t i = 0; i < saga_book::latency_samples; ++i) // the old ones are overwritten
    book.step_replied(1'000);
  EXPECT_EQ(book.metrics().step_latency_p50_ms, 1'000);
}
