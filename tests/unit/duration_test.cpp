#include "mailroom/duration.hpp"
#include "mailroom/error.hpp"
#include "mailroom/ids.hpp"

#include <gtest/gtest.h>

using namespace mailroom;

TEST(duration, reads_every_unit) {
  EXPECT_EQ(*parse_duration_ms("250ms", "t"), 250);
  EXPECT_EQ(*parse_duration_ms("30s", "t"), 30'000);
  EXPECT_EQ(*parse_duration_ms("5m", "t"), 300'000);
  EXPECT_EQ(*parse_duration_ms("2h", "t"), 7'200'000);
  EXPECT_EQ(*parse_duration_ms("14d", "t"), 14LL * 86'400'000);
  EXPECT_EQ(*parse_duration_ms("0s", "t"), 0);
}

TEST(duration, refuses_what_is_not_a_duration_and_names_it) {
  for (auto bad : {"banana", "30", "s", "-5s", "5 s", "5sec", "", "99999999999999999999d"}) {
    auto r = parse_duration_ms(bad, "queue 'orders': visibility timeout");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(code_of(r.error()), errc::invalid_argument);
    EXPECT_EQ(message_of(r.error()), std::string{"queue 'orders': visibility timeout '"} + bad +
                                         "' is not a duration (e.g. 250ms, 30s, 5m, 2h, 14d)");
  }
}

TEST(duration, formats_in_the_largest_exact_unit) {
  EXPECT_EQ(format_duration_ms(30'000), "30s");
  EXPECT_EQ(format_duration_ms(1'500), "1500ms");
  EXPECT_EQ(format_duration_ms(14LL * 86'400'000), "14d");
  EXPECT_EQ(format_duration_ms(0), "0ms");
}

TEST(receipt, round_trips_and_refuses_garbage) {
  auto r = parse_receipt(format_receipt({42, 3}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->seq, 42u);
  EXPECT_EQ(r->receive_count, 3u);
  for (auto bad : {"", "42", ".3", "42.", "a.b", "42.3.1", "42.x"})
    EXPECT_FALSE(parse_receipt(bad)) << bad;
}
