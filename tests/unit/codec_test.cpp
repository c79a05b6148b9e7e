// Journal records round-trip, and bytes that are not records are corruption, never a crash.
#include "codec.hpp"

#include "mailroom/error.hpp"

#include <gtest/gtest.h>

using namespace mailroom;

TEST(codec, a_segment_round_trips_every_envelope_field) {
  auto e = std::make_shared<envelope>();
  e->id = "id-1";
  e->queue = "orders";
  e->body = std::string("bin\0ary", 7);
  e->attributes = {{"tenant", "acme"}};
  e->dedup_id = "d";
  e->causation_id = "c";
  e->correlation_id = "r";
  e->sent_at_us = 1;
  e->enqueued_at_ms = 2;
  e->receive_count = 3;
  e->history = {{"rejected", "bad", "orders", 1, 10, 11, 12}};
  auto decoded = codec::decode_segment(codec::encode_segment({e}));
  ASSERT_TRUE(decoded) << message_of(decoded.error());
  ASSERT_EQ(decoded->size(), 1u);
  const auto& d = (*decoded)[0];
  EXPECT_EQ(d.body, e->body);
  EXPECT_EQ(d.attributes, e->attributes);
  EXPECT_EQ(d.correlation_id, "r");
  ASSERT_EQ(d.history.size(), 1u);
  EXPECT_EQ(d.history[0].dead_at_ms, 12);
}

TEST(codec, a_large_segment_round_trips) {
  std::vector<envelope_ptr> batch;
  for (int i = 0; i < 5000; ++i) {
    auto e = std::make_shared<envelope>();
    e->id = std::to_string(i);
    e->body = std::string(static_cast<size_t>(i % 300), 'x');
    batch.push_back(e);
  }
  auto decoded = codec::decode_segment(codec::encode_segment(batch));
  ASSERT_TRUE(decoded) << message_of(decoded.error());
  ASSERT_EQ(decoded->size(), 5000u);
  EXPECT_EQ((*decoded)[4999].body.size(), 4999u % 300);
}

TEST(codec, bytes_that_are_not_a_record_are_corruption) {
  for (const std::string& bad : {std::string("abc"), std::string(8, '\xff')}) {
    auto r = codec::decode_segment(bad);
    ASSERT_FALSE(r) << bad.size() << " bytes decoded";
    EXPECT_EQ(code_of(r.error()), errc::corruption);
  }
  EXPECT_EQ(code_of(codec::decode_events("1234567").error()), errc::corruption);
}

// Found by tests/fuzz: six words claiming a list of ~10^9 zero-sized structs made the decoder
// reserve gigabytes. The traversal limit now follows the record's size.
TEST(codec, regression_zero_size_list_amplification_is_refused) {
  const std::string blob{"\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x00"
                         "\x01\x00\x00\x00\x00\x26\x00\x61\x00\x00\x00\x00\x02\x00\x00\x00"
                         "\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x09\x00\x01\x00\x00\x00",
                         48};
  auto r = codec::decode_segment(blob);
  ASSERT_FALSE(r);
  EXPECT_EQ(code_of(r.error()), errc::corruption);
}
