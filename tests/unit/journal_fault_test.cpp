// Faults below the journal that kill -9 cannot show, injected with fault_io: a failed fsync, a
// full disk, a disk below the free-space watermark, and a crash that loses every write not yet
// synced (issue 9, bug 9 and "fault injection below the journal").
#include "fault_io.hpp"
#include "journal.hpp"
#include "node_fixture.hpp"

#include <sqlite3.h>

#include <filesystem>
#include <random>
#include <set>

using namespace mailroom;
using namespace mailroom::test;

namespace {

class journal_fault_test : public node_test {
protected:
  void open_with(std::shared_ptr<journal_io> storage, uint64_t min_free = 0) {
    auto err = try_open(std::move(storage), min_free);
    ASSERT_FALSE(err) << message_of(err);
  }

  caf::error try_open(std::shared_ptr<journal_io> storage, uint64_t min_free = 0) {
    node_config c;
    c.data_dir = dir.path();
    c.log_level = "off";
    c.clock = clock;
    c.storage = std::move(storage);
    c.min_free_disk_bytes = min_free;
    c.queue_cache_bytes = queue_cache_bytes;
    auto n = node::open(std::move(c));
    if (!n)
      return std::move(n.error());
    node_ = std::move(*n);
    return {};
  }

  std::vector<delivery> receive_all(const std::string& queue) {
    receive_request r;
    r.max = 100;
    auto got = node_->receive(queue, r);
    EXPECT_TRUE(got) << message_of(got.error());
    return got ? *got : std::vector<delivery>{};
  }

  std::shared_ptr<fault_io> io = std::make_shared<fault_io>();
  size_t queue_cache_bytes = node_config{}.queue_cache_bytes;
};

} // namespace

TEST_F(journal_fault_test, a_body_that_cannot_be_read_back_fails_that_receive_and_is_not_lost) {
  queue_cache_bytes = 1; // every body is read back from the journal when it is delivered
  open_with(io);
  ASSERT_FALSE(node_->create_queue(config("orders")));
  ASSERT_TRUE(node_->send("orders", bodies({"a", "b"})));

  io->fail(fault_io::op::read, SQLITE_IOERR_READ);
  receive_request r;
  r.max = 10;
  auto failed = node_->receive("orders", r);
  ASSERT_FALSE(failed);
  EXPECT_EQ(code_of(failed.error()), errc::io_error);
  EXPECT_NE(message_of(failed.error()).find("reading segments back"), std::string::npos)
      << message_of(failed.error());
  EXPECT_EQ(node_->stats("orders")->visible, 2u) << "still there, not leased";

  io->heal(fault_io::op::read);
  auto got = receive_all("orders");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].message->body, "a");
  EXPECT_EQ(got[1].message->body, "b");
  EXPECT_EQ(got[0].receive_count, 1u) << "the failed receive delivered nothing";
}

TEST_F(journal_fault_test,
       a_lease_for_another_process_answers_before_it_is_durable_and_a_crash_delivers_again) {
  open_with(io);
  ASSERT_FALSE(node_->create_queue(config("orders")));
  ASSERT_TRUE(node_->send("orders", bodies({"a"})));

  io->fail(fault_io::op::sync, SQLITE_IOERR_FSYNC); // the lease will never be durable
  receive_request remote;                           // what the client endpoint asks for
  remote.max = 10;
  remote.lease_durable_first = false;
  auto got = node_->receive("orders", remote);
  ASSERT_TRUE(got) << message_of(got.error());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].receive_count, 1u);

  io->crash(); // power loss: the lease's write is gone
  node_.reset();
  std::filesystem::remove(dir.path() + "/journal.db-shm");
  open_with(nullptr);
  auto again = receive_all("orders"); // no lease to wait for: ready at once
  ASSERT_EQ(again.size(), 1u) << "delivered at least once";
  EXPECT_EQ(again[0].message->body, "a");
  EXPECT_EQ(again[0].receive_count, 1u) << "the lost lease did not count";
  // The receipt names the message and its receive count, so the lost lease's receipt is the
  // new one: whichever consumer acks first settles it (each processed it), the other is told.
  EXPECT_EQ((*got)[0].receipt, again[0].receipt);
  auto acked = node_->ack("orders", {(*got)[0].receipt});
  ASSERT_TRUE(acked);
  EXPECT_EQ((*acked)[0].error_code, "");
  auto twice = node_->ack("orders", {again[0].receipt});
  ASSERT_TRUE(twice);
  EXPECT_EQ((*twice)[0].error_code, "unknown_receipt");
  EXPECT_EQ(node_->stats("orders")->visible + node_->stats("orders")->in_flight, 0u);
}

TEST_F(journal_fault_test,
       a_send_is_delivered_once_applied_but_its_producer_is_told_only_what_is_durable) {
  open_with(io);
  ASSERT_FALSE(node_->create_queue(config("orders")));
  io->fail(fault_io::op::sync, SQLITE_IOERR_FSYNC); // applied, never durable
  auto sent = node_->send("orders", bodies({"a"}));
  ASSERT_FALSE(sent) << "not confirmed: it is not durable";
  EXPECT_EQ(code_of(sent.error()), errc::io_error) << message_of(sent.error());

  receive_request remote;
  remote.max = 10;
  remote.lease_durable_first = false;
  auto got = node_->receive("orders", remote);
  ASSERT_TRUE(got) << message_of(got.error());
  ASSERT_EQ(got->size(), 1u) << "visible once in the WAL, as RabbitMQ delivers before its fsync";
  EXPECT_EQ((*got)[0].message->body, "a");

  io->crash(); // power loss: the send is gone, and its producer was never told otherwise
  node_.reset();
  std::filesystem::remove(dir.path() + "/journal.db-shm");
  open_with(nullptr);
  EXPECT_TRUE(receive_all("orders").empty());
}

TEST_F(journal_fault_test, an_ack_answers_once_applied_and_a_power_loss_delivers_again) {
  open_with(io);
  ASSERT_FALSE(node_->create_queue(config("orders")));
  ASSERT_TRUE(node_->send("orders", bodies({"a"})));
  receive_request remote;
  remote.max = 10;
  remote.lease_durable_first = false;
  remote.visibility_ms = 1'000;
  auto got = node_->receive("orders", remote);
  ASSERT_TRUE(got && got->size() == 1u);
  ASSERT_FALSE(node_->create_queue(config("later"))) << "durable, so the lease before it is too";

  io->fail(fault_io::op::sync, SQLITE_IOERR_FSYNC); // the ack will never be durable
  auto acked = node_->ack("orders", {(*got)[0].receipt});
  ASSERT_TRUE(acked) << message_of(acked.error());
  EXPECT_EQ((*acked)[0].error_code, "");

  io->crash();
  node_.reset();
  std::filesystem::remove(dir.path() + "/journal.db-shm");
  open_with(nullptr);
  advance(60'000); // the lease, durable, ends, and the retry backoff after it
  auto again = receive_all("orders");
  ASSERT_EQ(again.size(), 1u) << "a lost ack delivers the message again: at least once";
  EXPECT_EQ(again[0].message->body, "a");
}

TEST_F(journal_fault_test, an_in_process_receive_answers_only_once_its_lease_is_durable) {
  open_with(io);
  ASSERT_FALSE(node_->create_queue(config("orders")));
  ASSERT_TRUE(node_->send("orders", bodies({"a"})));
  io->fail(fault_io::op::sync, SQLITE_IOERR_FSYNC);
  receive_request local; // lease_durable_first by default
  local.max = 10;
  auto refused = node_->receive("orders", local);
  ASSERT_FALSE(refused) << "a message that may crash this process must count its receive first";
  EXPECT_EQ(code_of(refused.error()), errc::io_error) << message_of(refused.error());
}

TEST_F(journal_fault_test, a_failed_fsync_confirms_nothing_and_stops_writes_with_a_clear_error) {
  open_with(io);
  ASSERT_FALSE(node_->create_queue(config("orders")));
  auto kept = node_->send("orders", bodies({"confirmed"}));
  ASSERT_TRUE(kept);
  EXPECT_FALSE(node_->journal_internal().refusing_writes());

  io->fail(fault_io::op::sync, SQLITE_IOERR_FSYNC);
  auto lost = node_->send("orders", bodies({"not confirmed"}));
  ASSERT_FALSE(lost);
  EXPECT_EQ(code_of(lost.error()), errc::io_error);
  EXPECT_NE(message_of(lost.error()).find("syncing the WAL"), std::string::npos)
      << message_of(lost.error());

  // Fail-stop: a later fsync might succeed without the lost pages, so nothing is written any
  // more, even with the disk healthy again, until a restart recovers from what is on disk.
  // /health and /metrics say so (mailroom_journal_accepting_writes 0).
  EXPECT_NE(message_of(node_->journal_internal().refusing_writes()).find("syncing the WAL"),
            std::string::npos);
  io->heal(fault_io::op::sync);
  auto after = node_->send("orders", bodies({"after"}));
  ASSERT_FALSE(after);
  EXPECT_NE(message_of(after.error()).find("syncing the WAL"), std::string::npos);

  node_.reset();
  open_with(nullptr);
  std::set<std::string> bodies_back;
  for (auto& d : receive_all("orders"))
    bodies_back.insert(d.message->body);
  EXPECT_TRUE(bodies_back.count("confirmed"));
  EXPECT_FALSE(bodies_back.count("after")); // refused before it reached the journal
}

TEST_F(journal_fault_test, a_full_disk_fails_that_commit_only_and_sends_resume_once_space_is_back) {
  open_with(io);
  ASSERT_FALSE(node_->create_queue(config("orders")));
  ASSERT_TRUE(node_->send("orders", bodies({"before"})));

  io->fail(fault_io::op::write, SQLITE_FULL);
  auto refused = node_->send("orders", bodies({"no room"}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(code_of(refused.error()), errc::disk_full) << message_of(refused.error());

  io->heal(fault_io::op::write); // space freed: no restart, no nudge
  ASSERT_TRUE(node_->send("orders", bodies({"after"})));
  auto got = receive_all("orders");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].message->body, "before");
  EXPECT_EQ(got[1].message->body, "after");
  auto acked = node_->ack("orders", {got[0].receipt, got[1].receipt});
  ASSERT_TRUE(acked);
  for (auto& a : *acked)
    EXPECT_TRUE(a.error_code.empty()) << a.error_message;
}

TEST_F(journal_fault_test, below_the_free_disk_watermark_sends_are_refused_and_consumers_drain) {
  open_with(io, 64ull << 20);
  ASSERT_FALSE(node_->create_queue(config("orders")));
  ASSERT_TRUE(node_->send("orders", bodies({"a", "b", "c"})));

  io->set_free_bytes(10ull << 20); // 10 MiB left
  auto refused = node_->send("orders", bodies({"d"}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(code_of(refused.error()), errc::disk_full);
  EXPECT_NE(message_of(refused.error())
                .find("10485760 bytes free on its disk, below the watermark of 67108864 ([node] "
                      "min_free_disk)"),
            std::string::npos)
      << message_of(refused.error());
  auto each = node_->send_each("orders", bodies({"e"}));
  ASSERT_FALSE(each);
  EXPECT_EQ(code_of(each.error()), errc::disk_full);

  // Consumers go on: receive, ack, purge.
  auto got = receive_all("orders");
  ASSERT_EQ(got.size(), 3u);
  auto acked = node_->ack("orders", {got[0].receipt});
  ASSERT_TRUE(acked);
  EXPECT_TRUE((*acked)[0].error_code.empty()) << (*acked)[0].error_message;
  auto purged = node_->purge("orders");
  ASSERT_TRUE(purged) << message_of(purged.error());

  io->set_free_bytes(1ull << 30); // space is back: sends resume by themselves
  auto resumed = node_->send("orders", bodies({"f"}));
  ASSERT_TRUE(resumed) << message_of(resumed.error());
}

TEST_F(journal_fault_test, confirmed_messages_survive_losing_every_unsynced_write_at_any_point) {
  // One workload: sends of 1..5 messages and receive-and-ack rounds, each confirmed (or not)
  // as it returns. A dry run counts its writes; then each seed crashes before one of them,
  // losing every write not yet synced, as a power loss would, and a restart must still have
  // every confirmed message that was not confirmed acked, and none whose ack is durable. An ack
  // is answered once applied, before its fdatasync (see queue_actor.cpp): it is known durable
  // once a send confirmed after it is, and only an ack not known durable may be lost.
  auto workload = [&](std::mt19937& rng, std::set<std::string>& present,
                      std::set<std::string>& acked) {
    std::set<std::string> acked_not_yet_durable;
    if (node_->create_queue(config("orders")))
      return;
    for (int round = 0; round < 40; ++round) {
      if (rng() % 3 != 0) {
        std::vector<outgoing_message> batch(1 + rng() % 5);
        for (auto& m : batch)
          m.body = "r" + std::to_string(round);
        auto ids = node_->send("orders", batch);
        if (!ids)
          return;
        present.insert(ids->begin(), ids->end());
        acked.merge(acked_not_yet_durable);
        continue;
      }
      receive_request r;
      r.max = 1 + rng() % 4;
      auto got = node_->receive("orders", r);
      if (!got)
        return;
      std::vector<std::string> receipts;
      for (auto& d : *got)
        receipts.push_back(d.receipt);
      if (receipts.empty())
        continue;
      auto outcomes = node_->ack("orders", receipts);
      if (!outcomes)
        return;
      for (size_t i = 0; i < outcomes->size(); ++i)
        if ((*outcomes)[i].error_code.empty()) {
          present.erase((*got)[i].message->id);
          acked_not_yet_durable.insert((*got)[i].message->id);
        }
    }
  };

  uint64_t writes = 0;
  {
    auto dry = std::make_shared<fault_io>();
    open_with(dry);
    std::mt19937 rng{0};
    std::set<std::string> present, acked;
    workload(rng, present, acked);
    writes = dry->writes();
    node_.reset();
  }
  ASSERT_GT(writes, 20u);

  for (uint32_t seed = 1; seed <= 24; ++seed) {
    std::filesystem::remove_all(dir.path());
    std::filesystem::create_directories(dir.path());
    auto crashing = std::make_shared<fault_io>();
    std::mt19937 rng{seed};
    crashing->crash_at_write(1 + rng() % writes);
    std::set<std::string> present, acked;
    if (!try_open(crashing)) // the crash may come while the node opens
      workload(rng, present, acked);
    crashing->crash(); // the workload may have ended before its crash point
    node_.reset();
    // The machine restarts: the shared-memory index is gone with it.
    std::filesystem::remove(dir.path() + "/journal.db-shm");

    open_with(nullptr);
    advance(10 * 60'000); // every lease of before the crash has ended
    std::set<std::string> back;
    if (node_->queue("orders")) {
      for (;;) {
        auto got = receive_all("orders");
        if (got.empty())
          break;
        for (auto& d : got)
          back.insert(d.message->id);
      }
    } else {
      EXPECT_TRUE(present.empty()) << "seed " << seed << ": the queue is gone";
    }
    for (auto& id : present)
      EXPECT_TRUE(back.count(id)) << "seed " << seed << ": confirmed message " << id << " lost";
    for (auto& id : acked)
      EXPECT_FALSE(back.count(id)) << "seed " << seed << ": acked message " << id << " is back";
    node_.reset();
  }
}

TEST(journal_fault, a_full_disk_under_a_service_statement_fails_that_commit_only) {
  // A service's own SQL went through another error mapping, which took SQLITE_FULL for a broken
  // disk and stopped the journal for good.
  test::test_dir dir;
  auto io = std::make_shared<fault_io>();
  journal_options options;
  options.path = dir.file("j.db");
  options.io = io;
  auto j = journal::open(options);
  ASSERT_TRUE(j) << message_of(j.error());
  write_batch create;
  create.execute("CREATE TABLE ledger(amount INTEGER)", {});
  ASSERT_FALSE((*j)->write(std::move(create)));

  io->fail(fault_io::op::write, SQLITE_FULL);
  write_batch insert;
  // Larger than the journal's 64 MiB page cache, so SQLite spills pages to the WAL inside the
  // statement: the failure comes from the service statement itself, not from the COMMIT.
  insert.execute("INSERT INTO ledger VALUES(zeroblob(80000000))", {});
  auto err = (*j)->write(std::move(insert));
  EXPECT_EQ(code_of(err), errc::disk_full) << message_of(err);

  io->heal(fault_io::op::write);
  write_batch again;
  again.execute("INSERT INTO ledger VALUES(?1)", {int64_t{5}});
  EXPECT_FALSE((*j)->write(std::move(again)));
}
