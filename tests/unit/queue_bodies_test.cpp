// A queue keeps an index per message and reads bodies back from the journal (issue 11): on a
// real node with a cache too small for any segment, across a reopen, from a journal of format 1,
// and on queue_state directly, where the bytes it holds are visible.
#include "node_fixture.hpp"

#include "codec.hpp"
#include "queue/queue_state.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
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

namespace {

/// Rewrites the segments table of a closed journal as a build of `format` wrote it: a WITHOUT
/// ROWID table, without the index columns in format 1; a rowid table without publications in
/// format 3.
void make_format(const std::string& path, int format) {
  std::string columns = format == 1 ? "" : "count INTEGER, enqueued_at_ms INTEGER, ";
  std::string values = format == 1 ? "" : "count, enqueued_at_ms, ";
  auto table = format == 3 ? "CREATE TABLE old(id INTEGER PRIMARY KEY, queue TEXT NOT NULL, "
                             "first_seq INTEGER NOT NULL, " +
                                 columns + "messages BLOB NOT NULL, UNIQUE(queue, first_seq)); "
                           : "CREATE TABLE old(queue TEXT NOT NULL, first_seq INTEGER NOT NULL, " +
                                 columns +
                                 "messages BLOB NOT NULL, PRIMARY KEY(queue, first_seq)) "
                                 "WITHOUT ROWID; ";
  auto sql = table + "INSERT INTO old(queue, first_seq, " + values +
             "messages) SELECT queue, first_seq, " + values +
             "messages FROM segments; DROP TABLE segments; DROP TABLE publications; "
             "ALTER TABLE old RENAME TO segments; PRAGMA user_version = " +
             std::to_string(format);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << error;
  sqlite3_free(error);
  sqlite3_close(db);
}

} // namespace

TEST_F(node_test, journals_of_formats_1_to_3_are_migrated_and_their_messages_delivered) {
  for (int format : {1, 2, 3}) {
    std::filesystem::remove_all(dir.path());
    std::filesystem::create_directories(dir.path());
    open({config("deep")});
    ASSERT_TRUE(node_->send("deep", numbered(0, 10)));
    node_.reset();
    make_format(dir.path() + "/journal.db", format);
    open();
    EXPECT_EQ(node_->stats("deep")->visible, 10u) << "format " << format;
    ASSERT_TRUE(node_->send("deep", numbered(10, 5)));
    drain(*node_, 0, 15, 4);
    reopen(); // now of the current format, with a row of each kind gone
    EXPECT_EQ(node_->stats("deep")->visible, 0u) << "format " << format;
    node_.reset();
  }
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
