// A queue keeps an index per message and reads bodies back from the journal (issue 11): on a
// real node with a cache too small for any segment, across a reopen, from a journal of format 1,
// and on queue_state directly, where the bytes it holds are visible.
#include "node_fixture.hpp"

#include "codec.hpp"
#include "queue/queue_state.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <map>

using namespace mailroom;

namespace {

std::vector<outgoing_message> numbered(int from, int count) {
  std::vector<outgoing_message> out(count);
  for (int i = 0; i < count; ++i)
    out[i].body = "message-" + std::to_string(from + i);
  return out;
}

/// Receives `n` messages in batches of `batch`, checks they are message-FROM.. in order, acks.
void drain(node& n, int from, int count, uint32_t batch) {
  for (int next = from; next < from + count;) {
    auto got = n.receive("deep", {std::min<uint32_t>(batch, from + count - next), 0, -1});
    ASSERT_TRUE(got) << message_of(got.error());
    ASSERT_FALSE(got->empty()) << "at " << next;
    std::vector<std::string> receipts;
    for (auto& d : *got) {
      ASSERT_EQ(d.message->body, "message-" + std::to_string(next++));
      receipts.push_back(d.receipt);
    }
    auto acked = n.ack("deep", receipts);
    ASSERT_TRUE(acked);
    for (auto& a : *acked)
      ASSERT_EQ(a.error_code, "");
  }
}

} // namespace

TEST_F(node_test, a_queue_deeper_than_its_cache_delivers_every_body_in_order_and_after_a_reopen) {
  queue_cache_bytes = 1; // no segment fits: every body is read back from the journal
  open({config("deep")});
  for (int b = 0; b < 30; ++b)
    ASSERT_TRUE(node_->send("deep", numbered(b * 100, 100)));
  drain(*node_, 0, 1234, 37);
  reopen();
  EXPECT_EQ(node_->stats("deep")->visible, 3000u - 1234u);
  drain(*node_, 1234, 3000 - 1234, 500);
  EXPECT_EQ(node_->stats("deep")->visible, 0u);
}

TEST_F(node_test, a_journal_of_format_1_is_migrated_and_its_messages_delivered) {
  open({config("deep")});
  ASSERT_TRUE(node_->send("deep", numbered(0, 10)));
  node_.reset();
  {
    // Make it what a format-1 build wrote: segments without their index columns.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir.path() + "/journal.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "ALTER TABLE segments DROP COLUMN count; "
                           "ALTER TABLE segments DROP COLUMN enqueued_at_ms; "
                           "PRAGMA user_version = 1",
                           nullptr, nullptr, nullptr),
              SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  open();
  EXPECT_EQ(node_->stats("deep")->visible, 10u);
  ASSERT_TRUE(node_->send("deep", numbered(10, 5)));
  drain(*node_, 0, 15, 4);
  reopen(); // now of format 2, with a row of each kind gone
  EXPECT_EQ(node_->stats("deep")->visible, 0u);
}

TEST(queue_bodies, memory_holds_the_budget_and_reads_come_a_batch_at_a_time) {
  queue_config c;
  c.name = "deep";
  queue_state q{c};
  // The journal, as the test knows it: what each send wrote.
  std::map<uint64_t, std::vector<envelope>> journal;
  size_t reads = 0;
  constexpr size_t budget = 256 * 1024;
  q.keep_bodies_in_journal(
      [&](uint64_t first, const std::function<bool(uint64_t, std::vector<envelope>)>& visit) {
        ++reads;
        for (auto it = journal.lower_bound(first); it != journal.end(); ++it)
          if (!visit(it->first, it->second))
            break;
        return caf::error{};
      },
      budget);
  int64_t now = 1'000;
  uint64_t seq = 1;
  for (int b = 0; b < 100; ++b) {
    auto out = q.send(numbered(b * 50, 50), now);
    ASSERT_TRUE(out);
    auto& segment = journal[seq];
    for (int i = 0; i < 50; ++i) {
      envelope e;
      e.id = out->ids[i];
      e.queue = "deep";
      e.body = "message-" + std::to_string(b * 50 + i);
      e.enqueued_at_ms = now;
      segment.push_back(std::move(e));
    }
    seq += 50;
    q.commit_send(out->token, now);
    ASSERT_LE(q.body_bytes(), budget) << "after send " << b;
  }
  for (int next = 0; next < 5000;) {
    auto got = q.receive(10, -1, now);
    ASSERT_FALSE(got.error) << message_of(got.error);
    ASSERT_EQ(got.deliveries.size(), 10u);
    std::vector<std::string> receipts;
    for (auto& d : got.deliveries) {
      ASSERT_EQ(d.message->body, "message-" + std::to_string(next++));
      receipts.push_back(d.receipt);
    }
    q.ack(receipts, now);
    // The budget, plus at most the one segment being read from.
    ASSERT_LE(q.body_bytes(), budget + 50 * 600) << "at " << next;
  }
  // Read ahead: one read fills the cache (several segments), not one segment.
  EXPECT_LE(reads, 100u / 4) << reads << " reads for 100 segments";
  EXPECT_EQ(q.stats(now).visible, 0u);
}
