// The client endpoint's per-connection limits as a pure state class, on explicit times.
#include "connection_guard.hpp"
#include "log_throttle.hpp"

#include <gtest/gtest.h>

#include <climits>
#include <cstring>
#include <string>

using namespace mailroom;

namespace {

/// A Cap'n Proto stream frame header: segment count - 1, then each segment's size in words,
/// padded to whole words.
std::string frame_header(std::initializer_list<uint32_t> segment_words) {
  std::string out;
  auto put = [&](uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); };
  put(static_cast<uint32_t>(segment_words.size() - 1));
  for (auto w : segment_words)
    put(w);
  if (out.size() % 8 != 0)
    put(0);
  return out;
}

constexpr connection_limits limits{1024, 1000, 60'000};

} // namespace

TEST(connection_guard, a_frame_over_the_limit_is_refused_from_its_header) {
  auto budget = std::make_shared<frame_budget>(1 << 20);
  connection_guard guard{limits, budget, 0};
  auto header = frame_header({200}); // 1600 bytes of body
  auto refused = guard.on_read(header.data(), header.size(), 0);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->reason.find("a frame of 1608 bytes exceeds the limit of 1024"),
            std::string::npos);
  EXPECT_EQ(budget->held(), 0u);
}

TEST(connection_guard, too_many_segments_are_refused) {
  auto budget = std::make_shared<frame_budget>(1 << 20);
  connection_guard guard{limits, budget, 0};
  uint32_t words[2] = {0xFFFFFFFFu, 1}; // 2^32 segments
  EXPECT_TRUE(guard.on_read(words, sizeof(words), 0));
}

TEST(connection_guard, frames_split_anywhere_are_followed_and_release_the_budget) {
  auto budget = std::make_shared<frame_budget>(1 << 20);
  connection_guard guard{limits, budget, 0};
  // Two frames back to back: three segments (a padded table), then one; fed one byte at a time.
  auto stream =
      frame_header({1, 2, 3}) + std::string(48, 'a') + frame_header({4}) + std::string(32, 'b');
  for (size_t i = 0; i < stream.size(); ++i) {
    ASSERT_FALSE(guard.on_read(&stream[i], 1, 0)) << "byte " << i;
    if (i == 16 + 47) { // the first frame's last byte
      EXPECT_EQ(budget->held(), 0u);
    }
  }
  EXPECT_FALSE(guard.in_frame());
  EXPECT_EQ(budget->held(), 0u);
}

TEST(connection_guard, the_node_wide_budget_holds_only_so_many_incomplete_frames) {
  auto budget = std::make_shared<frame_budget>(2000);
  connection_guard first{limits, budget, 0}, second{limits, budget, 0};
  auto header = frame_header({100}); // 808 bytes announced
  EXPECT_FALSE(first.on_read(header.data(), header.size(), 0));
  EXPECT_EQ(budget->held(), 808u);
  {
    connection_guard third{limits, budget, 0};
    EXPECT_FALSE(second.on_read(header.data(), header.size(), 0));
    auto refused = third.on_read(header.data(), header.size(), 0);
    ASSERT_TRUE(refused);
    EXPECT_NE(refused->reason.find("1616 of 2000 bytes held"), std::string::npos)
        << refused->reason;
  }
  EXPECT_EQ(budget->held(), 1616u);
  std::string body(800, 'x');
  EXPECT_FALSE(first.on_read(body.data(), body.size(), 5));
  EXPECT_EQ(budget->held(), 808u); // the first frame arrived whole
}

TEST(connection_guard, a_closed_connection_returns_what_its_frame_held) {
  auto budget = std::make_shared<frame_budget>(2000);
  {
    connection_guard guard{limits, budget, 0};
    auto header = frame_header({100});
    EXPECT_FALSE(guard.on_read(header.data(), header.size(), 0));
    EXPECT_EQ(budget->held(), 808u);
  }
  EXPECT_EQ(budget->held(), 0u);
}

TEST(connection_guard, an_incomplete_frame_has_a_deadline_from_its_first_byte) {
  auto budget = std::make_shared<frame_budget>(1 << 20);
  connection_guard guard{limits, budget, 0};
  auto header = frame_header({10});
  EXPECT_FALSE(guard.on_read(header.data(), 3, 500)); // even the header trickles
  EXPECT_EQ(guard.deadline_ms(), 1500);
  EXPECT_FALSE(guard.on_read(header.data() + 3, header.size() - 3, 900));
  EXPECT_FALSE(guard.on_read("12345678", 8, 1400)); // bytes keep coming: still due at 1500
  EXPECT_EQ(guard.deadline_ms(), 1500);
  EXPECT_NE(guard.deadline_reason().reason.find("within 1s ([node] frame_timeout)"),
            std::string::npos);
}

TEST(connection_guard, idle_counts_from_the_last_traffic_unless_a_call_is_in_flight) {
  auto budget = std::make_shared<frame_budget>(1 << 20);
  connection_guard guard{limits, budget, 100};
  EXPECT_EQ(guard.deadline_ms(), 60'100);
  guard.on_write(5'000);
  EXPECT_EQ(guard.deadline_ms(), 65'000);
  guard.call_started(); // a long poll: nothing crosses the wire while it waits
  EXPECT_EQ(guard.deadline_ms(), INT64_MAX);
  guard.call_finished(90'000);
  EXPECT_EQ(guard.deadline_ms(), 150'000);
  EXPECT_NE(guard.deadline_reason().reason.find("idle for 1m ([node] idle_timeout)"),
            std::string::npos);
}

TEST(log_throttle, logs_once_per_interval_and_counts_the_rest) {
  log_throttle throttle{10'000};
  EXPECT_EQ(throttle.event(0), 0u);
  EXPECT_FALSE(throttle.event(1));
  EXPECT_FALSE(throttle.event(9'999));
  EXPECT_EQ(throttle.event(10'000), 2u);
  EXPECT_FALSE(throttle.event(10'001));
  EXPECT_EQ(throttle.event(30'000), 1u);
}
