#include "dead_letter/dead_letter_state.hpp"

#include <gtest/gtest.h>

using namespace mailroom;

namespace {

dead_letter dead(std::string id, std::string reason, std::string source,
                 attribute_list attributes = {}) {
  dead_letter d;
  d.message.id = std::move(id);
  d.message.body = "body";
  d.message.attributes = std::move(attributes);
  d.death.reason = std::move(reason);
  d.death.source = std::move(source);
  d.death.error = "timeout talking to payments";
  return d;
}

} // namespace

TEST(dead_letter_state, lists_oldest_first_without_consuming) {
  dead_letter_state s{"dlq"};
  auto w = s.accept({dead("a", "max_receives", "orders"), dead("b", "rejected", "orders")});
  EXPECT_EQ(w.size(), 2u);
  auto l = s.list(10);
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].message.id, "a");
  EXPECT_EQ(s.list(1).size(), 1u);
  EXPECT_EQ(s.size(), 2u);
}

TEST(dead_letter_state, the_same_message_handed_over_twice_counts_once) {
  dead_letter_state s{"dlq"};
  s.accept({dead("a", "max_receives", "orders")});
  s.accept({dead("a", "max_receives", "orders")});
  EXPECT_EQ(s.size(), 1u);
}

TEST(dead_letter_state, filters_select_by_reason_source_attribute_and_error) {
  dead_letter_state s{"dlq"};
  s.accept({dead("a", "max_receives", "orders", {{"tenant", "acme"}}),
            dead("b", "rejected", "orders"), dead("c", "max_receives", "payments")});
  redrive_filter by_reason;
  by_reason.reason = "max_receives";
  EXPECT_EQ(s.select(by_reason, 10).size(), 2u);
  redrive_filter by_source;
  by_source.source = "payments";
  EXPECT_EQ(s.select(by_source, 10).size(), 1u);
  redrive_filter by_attr;
  by_attr.attribute_key = "tenant";
  by_attr.attribute_value = "acme";
  ASSERT_EQ(s.select(by_attr, 10).size(), 1u);
  EXPECT_EQ(s.select(by_attr, 10)[0].message.id, "a");
  redrive_filter by_error;
  by_error.error_contains = "payments";
  EXPECT_EQ(s.select(by_error, 10).size(), 3u);
  by_error.error_contains = "nothing like it";
  EXPECT_TRUE(s.select(by_error, 10).empty());
}

TEST(dead_letter_state, remove_and_purge) {
  dead_letter_state s{"dlq"};
  s.accept({dead("a", "r", "q"), dead("b", "r", "q")});
  auto w = s.remove({"a", "unknown"});
  EXPECT_EQ(w.size(), 1u);
  EXPECT_EQ(s.size(), 1u);
  auto [n, writes] = s.purge();
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(s.size(), 0u);
}

// Issue 9, bug 4: dead letters were written with INSERT OR REPLACE on (sink, id), so a second
// message under a stored id silently replaced the first.
TEST(dead_letter_state, a_second_message_with_a_stored_id_does_not_overwrite_it) {
  dead_letter_state s{"dlq"};
  auto first = dead("a", "max_receives", "orders");
  first.message.body = "first";
  s.accept({first});
  auto second = dead("a", "rejected", "billing");
  second.message.body = "second";
  auto writes = s.accept({second});
  EXPECT_EQ(writes.size(), 0u) << "nothing journaled over the stored record";
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s.list(1)[0].message.body, "first");
}
