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

TEST(codec, a_queue_config_round_trips_every_field) {
  queue_config c;
  c.name = "orders";
  c.visibility_timeout_ms = 1;
  c.delay_ms = 2;
  c.retention_ms = 3'000;
  c.max_message_bytes = 4;
  c.max_receive_count = 5;
  c.dead_letter_queue = "orders-dlq";
  c.retry = {6, 7.5, 8};
  c.max_depth = 9;
  c.dedup_window_ms = 10'000;
  c.content_based_dedup = true;
  c.fifo = true;
  c.receive_wait_ms = 11;
  c.tags = {{"team", "billing"}, {"empty", ""}};
  auto decoded = codec::decode_queue_config(codec::encode_queue_config(c));
  ASSERT_TRUE(decoded) << message_of(decoded.error());
  EXPECT_EQ(*decoded, c);
}

TEST(codec, a_topic_config_round_trips_its_display_name_and_subscriptions) {
  topic_config t{"orders", {{"audit", R"({"kind":["paid"]})", true, true, "audit-dlq"}}, "Orders"};
  auto decoded = codec::decode_topic_config(codec::encode_topic_config(t));
  ASSERT_TRUE(decoded) << message_of(decoded.error());
  EXPECT_EQ(*decoded, t);
}

TEST(codec, a_range_of_trace_steps_is_read_back_one_step_per_message) {
  codec::trace_event sent{{"id-5", "orders", "sent", 10, 0, {}, {}, {}}, 5};
  sent.count = 3;
  sent.more_ids = {"id-6", "id-7"};
  codec::trace_event acked{{{}, "orders", "acked", 11, 1, {}, {}, {}}, 5};
  acked.count = 3;
  auto decoded = codec::decode_trace(codec::encode_trace({sent, acked}));
  ASSERT_TRUE(decoded) << message_of(decoded.error());
  ASSERT_EQ(decoded->size(), 6u);
  for (uint64_t k = 0; k < 3; ++k) {
    EXPECT_EQ((*decoded)[k].seq, 5 + k);
    EXPECT_EQ((*decoded)[k].step.id, "id-" + std::to_string(5 + k));
    EXPECT_EQ((*decoded)[k].step.kind, "sent");
    EXPECT_EQ((*decoded)[3 + k].seq, 5 + k);
    EXPECT_EQ((*decoded)[3 + k].step.id, "");
    EXPECT_EQ((*decoded)[3 + k].step.kind, "acked");
    EXPECT_EQ((*decoded)[3 + k].count, 1u);
  }
  // A count past the bound, or ids that do not fit it, are corruption, not an allocation.
  acked.count = codec::max_trace_range + 1;
  EXPECT_EQ(code_of(codec::decode_trace(codec::encode_trace({acked})).error()), errc::corruption);
  sent.more_ids = {"id-6"};
  EXPECT_EQ(code_of(codec::decode_trace(codec::encode_trace({sent})).error()), errc::corruption);
}

TEST(codec, a_segment_of_copies_takes_what_they_share_from_its_publication) {
  std::vector<outgoing_message> shared(2);
  shared[0].body = "first";
  shared[1].body = std::string("sec\0nd", 6);
  shared[1].attributes = {{"kind", "paid"}};
  shared[1].dedup_id = "d";
  shared[1].causation_id = "c";
  shared[1].correlation_id = "r";
  shared[1].sent_at_us = 7;
  auto publication = codec::encode_publication(shared);
  auto copy = std::make_shared<envelope>();
  copy->id = "own-id";
  copy->queue = "billing";
  copy->body = shared[1].body; // left out of the segment
  copy->enqueued_at_ms = 9;
  auto segment = codec::encode_segment({copy}, {1});
  EXPECT_EQ(segment.find("sec"), std::string::npos) << "the body is not in the segment";
  auto decoded = codec::decode_segment(segment, publication);
  ASSERT_TRUE(decoded) << message_of(decoded.error());
  ASSERT_EQ(decoded->size(), 1u);
  const auto& d = (*decoded)[0];
  EXPECT_EQ(d.id, "own-id");
  EXPECT_EQ(d.queue, "billing");
  EXPECT_EQ(d.enqueued_at_ms, 9);
  EXPECT_EQ(d.body, shared[1].body);
  EXPECT_EQ(d.attributes, shared[1].attributes);
  EXPECT_EQ(d.dedup_id, "d");
  EXPECT_EQ(d.causation_id, "c");
  EXPECT_EQ(d.correlation_id, "r");
  EXPECT_EQ(d.sent_at_us, 7);

  auto missing = codec::decode_segment(segment);
  ASSERT_FALSE(missing);
  EXPECT_EQ(code_of(missing.error()), errc::corruption);
  auto beyond = codec::decode_segment(codec::encode_segment({copy}, {2}), publication);
  ASSERT_FALSE(beyond);
  EXPECT_EQ(code_of(beyond.error()), errc::corruption);
  EXPECT_NE(message_of(beyond.error()).find("entry 2 of a publication of 2"), std::string::npos)
      << message_of(beyond.error());
  auto uneven = codec::decode_segment(codec::encode_segment({copy, copy}, {0}), publication);
  ASSERT_FALSE(uneven);
  EXPECT_EQ(code_of(uneven.error()), errc::corruption);
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

// Issue 11: a receive of 1,000 messages journaled 1,000 lease events of 64 bytes each.
TEST(codec, a_change_to_consecutive_messages_is_journaled_as_one_range) {
  std::vector<codec::message_event> events;
  for (uint64_t seq = 10; seq < 1010; ++seq) { // one receive: leased alike
    codec::message_event e;
    e.seq = seq;
    e.receive_count = 1;
    e.visible_at_ms = 30'000;
    e.in_flight = true;
    events.push_back(e);
  }
  events[500].receive_count = 2; // delivered before: its own event, between two ranges
  codec::message_event gone;
  gone.removed = true;
  for (uint64_t seq : {2000, 2001, 2003}) { // acked, with a gap
    gone.seq = seq;
    events.push_back(gone);
  }
  auto blob = codec::encode_events(events);
  EXPECT_LT(blob.size(), 600u) << "five events, not 1,003";
  auto decoded = codec::decode_events(blob);
  ASSERT_TRUE(decoded) << message_of(decoded.error());
  struct run {
    uint64_t seq;
    uint32_t count;
    uint32_t receive_count;
    bool removed;
  };
  std::vector<run> expected = {{10, 500, 1, false},
                               {510, 1, 2, false},
                               {511, 499, 1, false},
                               {2000, 2, 0, true},
                               {2003, 1, 0, true}};
  ASSERT_EQ(decoded->size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const auto& d = (*decoded)[i];
    EXPECT_EQ(d.seq, expected[i].seq) << i;
    EXPECT_EQ(d.count, expected[i].count) << i;
    EXPECT_EQ(d.removed, expected[i].removed) << i;
    if (!d.removed) {
      EXPECT_EQ(d.receive_count, expected[i].receive_count) << i;
      EXPECT_EQ(d.visible_at_ms, 30'000) << i;
      EXPECT_TRUE(d.in_flight) << i;
    }
  }
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
