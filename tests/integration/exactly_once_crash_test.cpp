// Exactly-once processing with real processes: the example ledger service (a transactional
// service in an embedded node) is killed with SIGKILL again and again while it credits
// payments. Every payment must be counted exactly once and have exactly one receipt.
#include "../unit/test_dir.hpp"
#include "process.hpp"

#include "mailroom/error.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <random>
#include <thread>

using namespace mailroom;
using namespace mailroom::test;

TEST(crash, kill_9_during_transactional_consume_never_applies_an_effect_twice) {
  test_dir dir;
  // 3 ms between the handler's work and its commit: the window the kills should hit.
  node_process ledger{dir.path(), {"--slow-ms", "3"}, LEDGER_SERVICE_PATH};
  constexpr int payments = 600;
  int64_t total = 0;
  {
    auto c = ledger.connect();
    ASSERT_TRUE(c);
    for (int first = 0; first < payments; first += 50) {
      std::vector<outgoing_message> batch(50);
      for (int k = 0; k < 50; ++k) {
        auto cents = first + k + 1;
        batch[k].body = "acct-" + std::to_string((first + k) % 7) + ":" + std::to_string(cents);
        total += cents;
      }
      ASSERT_TRUE(c->send("payments", batch));
    }
  }
  std::mt19937 rng{20261128};
  for (int round = 0; round < 8; ++round) {
    // The kill point varies per round; this wait is the experiment, not a synchronization.
    std::this_thread::sleep_for(std::chrono::milliseconds(60 + rng() % 200));
    ledger.kill_hard();
    ledger.start();
  }
  auto c = ledger.connect();
  ASSERT_TRUE(c);
  ASSERT_TRUE(eventually(
      [&] {
        auto s = c->stats("payments");
        return s && s->visible + s->in_flight + s->delayed == 0;
      },
      std::chrono::seconds(60)))
      << "payments were not all processed";
  c.reset();
  ASSERT_EQ(ledger.stop(), 0);
  auto report = run({LEDGER_SERVICE_PATH, "--data", dir.path(), "--report"});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  auto j = nlohmann::json::parse(report.out);
  EXPECT_EQ(j["total_cents"], total) << "a payment was counted twice or not at all";
  EXPECT_EQ(j["receipts"], payments) << "a receipt was sent twice or not at all";
  EXPECT_EQ(j["accounts"], 7);
  EXPECT_EQ(j["payments_left"], 0);
}
