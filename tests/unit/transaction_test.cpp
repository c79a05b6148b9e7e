// Transactional consume on a real node: the handler's statements, its sends and the inbox entry
// commit together; a failing commit applies nothing; a message whose effects committed is acked
// without running the handler again. The crash test is in tests/integration.
#include "journal.hpp"
#include "mailroom/ids.hpp"
#include "mailroom/transaction.hpp"
#include "node_fixture.hpp"

#include <atomic>

using namespace mailroom;

namespace {

class transaction_test : public node_test {
protected:
  // The service runs on its own thread until the node stops: what its handler touches must
  // outlive the node, not just a test's body (a counter on the body's stack was written after
  // the body returned, into the stack of the node's shutdown, and crashed it now and then).
  ~transaction_test() override { node_.reset(); }

  void SetUp() override {
    auto payments = config("payments");
    payments.retry = {10, 1.0, 10};
    open({payments, config("receipts")});
  }

  /// Credits the account named by the body with 5 cents and sends a receipt.
  caf::expected<caf::actor> start() {
    transactional_options o;
    o.service = "ledger";
    o.queue = "payments";
    o.schema = {"CREATE TABLE IF NOT EXISTS balances(account TEXT PRIMARY KEY, cents INTEGER "
                "NOT NULL CHECK (cents <= 100))"};
    return spawn_transactional_service(
        *node_, o, [this](const envelope& m, uint32_t, transaction& tx) {
          ++calls;
          if (auto err = tx.execute("INSERT INTO balances VALUES(?1, 5) ON CONFLICT(account) "
                                    "DO UPDATE SET cents = cents + 5",
                                    {m.body}))
            return outcome::retry(message_of(err));
          outgoing_message receipt;
          receipt.body = "credited " + m.body;
          if (auto err = tx.send("receipts", receipt))
            return outcome::retry(message_of(err));
          return outcome::ack();
        });
  }

  int64_t balance(const std::string& account) {
    auto rows = node_->query("SELECT cents FROM balances WHERE account = ?1", {account});
    if (!rows || rows->empty())
      return -1;
    return std::get<int64_t>((*rows)[0][0]);
  }

  uint64_t depth(const std::string& queue) {
    auto s = node_->stats(queue);
    return s->visible + s->in_flight + s->delayed;
  }

  std::atomic<int> calls{0}; ///< handler runs

  static std::vector<outgoing_message> accounts(std::initializer_list<const char*> names) {
    return bodies(names);
  }
};

} // namespace

TEST_F(transaction_test, statements_sends_and_the_ack_take_effect_together) {
  ASSERT_TRUE(start());
  ASSERT_TRUE(node_->send("payments", accounts({"alice", "bob", "alice"})));
  ASSERT_TRUE(eventually([&] { return depth("payments") == 0; }));
  EXPECT_EQ(balance("alice"), 10);
  EXPECT_EQ(balance("bob"), 5);
  EXPECT_EQ(depth("receipts"), 3u);
  EXPECT_EQ(calls, 3);
}

TEST_F(transaction_test, a_failing_statement_applies_nothing_and_the_message_is_retried) {
  ASSERT_TRUE(start());
  // 21 credits of 5 would pass the CHECK (cents <= 100) on the last one.
  std::vector<outgoing_message> batch(21);
  for (auto& m : batch)
    m.body = "carol";
  ASSERT_TRUE(node_->send("payments", batch));
  ASSERT_TRUE(eventually([&] {
    advance(20); // past the 10 ms retry backoff, on the virtual clock
    return calls >= 23;
  })) << "the last one keeps being retried";
  EXPECT_EQ(balance("carol"), 100);
  EXPECT_EQ(depth("receipts"), 20u) << "the refused message's receipt was not sent";
  EXPECT_EQ(depth("payments"), 1u);
}

TEST_F(transaction_test, a_send_the_target_refuses_fails_its_own_message_only) {
  // A delivered batch commits as one journal batch; a queue refusing one message's send must
  // not take the others down with it.
  auto small = config("receipts");
  small.max_message_bytes = 40;
  ASSERT_FALSE(node_->put_queue(small));
  ASSERT_TRUE(start());
  std::string too_long(40, 'z'); // its receipt, "credited zzz...", is over 40 bytes
  ASSERT_TRUE(node_->send("payments", accounts({"hank", too_long.c_str(), "ivy"})));
  ASSERT_TRUE(eventually([&] {
    advance(20); // the refused one is retried, on the virtual clock
    return calls >= 5;
  }));
  ASSERT_TRUE(eventually([&] { return depth("receipts") == 2; }));
  EXPECT_EQ(balance("hank"), 5);
  EXPECT_EQ(balance("ivy"), 5);
  EXPECT_EQ(balance(too_long), -1) << "nothing of the refused message applied";
  EXPECT_EQ(depth("payments"), 1u);
}

TEST_F(transaction_test, a_message_whose_effects_committed_is_acked_without_running_again) {
  auto ids = node_->send("payments", accounts({"dave"}));
  ASSERT_TRUE(ids);
  // As if a crash hit between the commit and the ack: the inbox already has the message.
  write_batch committed;
  committed.put_consumed("ledger", (*ids)[0], test::t0);
  ASSERT_FALSE(node_->journal_internal().write(std::move(committed)));
  ASSERT_TRUE(start());
  ASSERT_TRUE(eventually([&] { return depth("payments") == 0; }));
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(balance("dave"), -1);
}

TEST_F(transaction_test, statements_may_not_touch_the_journal_or_control_transactions) {
  auto& log = node_->journal_internal();
  for (const char* sql :
       {"DELETE FROM segments", "INSERT INTO consumed VALUES('a', 'b', 1)", "DROP TABLE catalog",
        "DELETE FROM publications",
        "CREATE TRIGGER t AFTER INSERT ON publications BEGIN SELECT 1; END", "COMMIT",
        "PRAGMA synchronous=OFF", "ATTACH 'x.db' AS x", "SELECT 1; SELECT 2", "not sql"}) {
    auto err = log.check_statement(sql);
    EXPECT_EQ(code_of(err), errc::invalid_argument) << sql;
  }
  EXPECT_FALSE(log.check_statement("CREATE TABLE IF NOT EXISTS mine(x INTEGER)"));
  auto write_in_query = log.query("CREATE TABLE t(x)", {});
  ASSERT_FALSE(write_in_query);
  EXPECT_NE(message_of(write_in_query.error()).find("writes"), std::string::npos);
}

TEST_F(transaction_test, a_read_sees_every_earlier_effect_of_its_batch) {
  // The messages of a delivered batch share group commits; a read must still see the earlier
  // ones' writes: read-modify-write with no upsert counts every credit.
  transactional_options o;
  o.service = "counter";
  o.queue = "payments";
  o.schema = {"CREATE TABLE IF NOT EXISTS counts(account TEXT PRIMARY KEY, n INTEGER NOT NULL)"};
  ASSERT_TRUE(
      spawn_transactional_service(*node_, o, [](const envelope& m, uint32_t, transaction& tx) {
        auto rows = tx.query("SELECT n FROM counts WHERE account = ?1", {m.body});
        if (!rows)
          return outcome::retry(message_of(rows.error()));
        int64_t n = rows->empty() ? 0 : std::get<int64_t>((*rows)[0][0]);
        if (auto err = tx.execute("INSERT OR REPLACE INTO counts VALUES(?1, ?2)", {m.body, n + 1}))
          return outcome::retry(message_of(err));
        return outcome::ack();
      }));
  std::vector<outgoing_message> batch(50);
  for (auto& m : batch)
    m.body = "erin";
  ASSERT_TRUE(node_->send("payments", batch));
  ASSERT_TRUE(eventually([&] { return depth("payments") == 0; }));
  auto rows = node_->query("SELECT n FROM counts WHERE account = 'erin'", {});
  ASSERT_TRUE(rows && rows->size() == 1);
  EXPECT_EQ(std::get<int64_t>((*rows)[0][0]), 50);
}

TEST_F(transaction_test, a_compiled_statement_is_guarded_again_when_the_schema_changes) {
  // Service statements are compiled once and kept; one recompiled after a trigger appeared
  // must still be kept off the journal's tables.
  ASSERT_TRUE(node_->send("payments", accounts({"frank"})));
  auto& log = node_->journal_internal();
  auto run = [&](const char* sql) {
    write_batch w;
    w.execute(sql, {});
    return log.write(std::move(w));
  };
  ASSERT_FALSE(run("CREATE TABLE mine(x INTEGER)"));
  ASSERT_FALSE(run("INSERT INTO mine VALUES(1)"));
  auto trigger = run("CREATE TRIGGER sneaky AFTER INSERT ON mine BEGIN DELETE FROM segments; END");
  auto again = run("INSERT INTO mine VALUES(2)");
  // SQLite authorizes a trigger's body where it fires: creating it passes, the recompiled
  // insert that would fire it must not.
  EXPECT_FALSE(trigger) << message_of(trigger);
  ASSERT_TRUE(again) << "the recompiled statement ran unguarded";
  EXPECT_EQ(code_of(again), errc::invalid_argument) << message_of(again);
  reopen();
  EXPECT_EQ(depth("payments"), 1u) << "the journal's segments are untouched";
}

TEST_F(transaction_test, a_message_sent_twice_under_one_id_in_one_batch_takes_effect_once) {
  // A producer that re-sent after a timeout, with the id it had chosen (no dedup id): both
  // copies may arrive in one delivered batch, where the inbox check cannot see the first.
  auto twice = accounts({"gina", "gina"});
  twice[0].id = twice[1].id = new_message_id();
  ASSERT_TRUE(node_->send("payments", twice));
  ASSERT_TRUE(start());
  ASSERT_TRUE(eventually([&] {
    advance(20); // the second copy is retried after the first, on the virtual clock
    return depth("payments") == 0;
  }));
  EXPECT_EQ(balance("gina"), 5);
  EXPECT_EQ(depth("receipts"), 1u);
}

TEST_F(transaction_test, bad_options_are_refused) {
  transactional_options o;
  o.service = "ledger";
  o.queue = "nope";
  auto h = [](const envelope&, uint32_t, transaction&) { return outcome::ack(); };
  EXPECT_EQ(code_of(spawn_transactional_service(*node_, o, h).error()), errc::unknown_queue);
  o.queue = "payments";
  o.schema = {"CREATE TABLE broken("};
  auto schema = spawn_transactional_service(*node_, o, h);
  ASSERT_FALSE(schema);
  EXPECT_NE(message_of(schema.error()).find("schema"), std::string::npos);
  o.schema.clear();
  o.service = "";
  EXPECT_EQ(code_of(spawn_transactional_service(*node_, o, h).error()), errc::invalid_argument);
}
