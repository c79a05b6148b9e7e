// The one mapping from a handler's outcome to how its delivery is settled.
#include "handler_outcome.hpp"

#include <gtest/gtest.h>

using namespace mailroom;

TEST(handler_outcome, an_ack_settles_with_no_nack) {
  EXPECT_FALSE(settlement_of(outcome::ack(), "r1"));
}

TEST(handler_outcome, a_retry_keeps_its_delay_and_names_an_error_even_when_given_none) {
  auto plain = settlement_of(outcome::retry(), "r1");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->receipt, "r1");
  EXPECT_EQ(plain->retry_after_ms, -1);
  EXPECT_EQ(plain->error, "retry");
  EXPECT_TRUE(plain->dead_letter_reason.empty());
  auto later = settlement_of(outcome::retry_after(std::chrono::seconds(3), "busy"), "r2");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->retry_after_ms, 3000);
  EXPECT_EQ(later->error, "busy");
}

TEST(handler_outcome, a_dead_letter_carries_its_reason_or_rejected) {
  auto given = settlement_of(outcome::dead_letter("bad schema"), "r1");
  ASSERT_TRUE(given);
  EXPECT_EQ(given->dead_letter_reason, "bad schema");
  auto none = settlement_of(outcome::dead_letter(""), "r1");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->dead_letter_reason, "rejected");
}

TEST(handler_outcome, a_failure_is_a_retry_under_the_backoff_with_its_error) {
  auto f = failure_of("r1", "boom");
  EXPECT_EQ(f.receipt, "r1");
  EXPECT_EQ(f.retry_after_ms, -1);
  EXPECT_EQ(f.error, "boom");
  EXPECT_TRUE(f.dead_letter_reason.empty());
}
