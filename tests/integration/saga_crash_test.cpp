// Sagas survive kill -9: example-order-saga (an embedded node with the three order services) is
// killed again and again while 300 orders run; each restart starts the same orders again under
// their idempotency keys. Every saga must end exactly once in the right state, each step run
// once (a command seen twice only under its one dedup id), compensations newest first.
#include "../unit/test_dir.hpp"
#include "process.hpp"

#include "mailroom/error.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>

using namespace mailroom;
using namespace mailroom::test;

namespace {

struct handled {
  std::string step;
  std::string action;
  std::string attempt;
};

/// The services' command log: per saga, what they handled in order.
std::map<std::string, std::vector<handled>> read_commands(const std::string& path) {
  std::map<std::string, std::vector<handled>> out;
  std::ifstream in{path};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields{line};
    std::string saga;
    handled h;
    if (fields >> saga >> h.step >> h.action >> h.attempt)
      out[saga].push_back(h);
  }
  return out;
}

} // namespace

TEST(crash, kill_9_during_sagas_resumes_every_instance_where_it_was) {
  test_dir dir;
  constexpr int orders = 300;
  auto log = dir.path() + "/commands.log";
  std::vector<std::string> args{"--start", std::to_string(orders), "--commands", log};
  node_process app{dir.path(), args, ORDER_SAGA_PATH};
  std::mt19937 rng{20261128};
  for (int round = 0; round < 5; ++round) {
    // The kill point varies per round: while orders are started, steps sent, replies handled
    // and compensations run. This wait is the experiment, not a synchronization.
    std::this_thread::sleep_for(std::chrono::milliseconds(40 + rng() % 300));
    app.kill_hard();
    app.start();
  }
  auto c = app.connect();
  ASSERT_TRUE(c);
  std::vector<saga_summary> sagas;
  ASSERT_TRUE(eventually(
      [&] {
        auto listed = c->sagas({std::nullopt, "order", 10'000});
        if (!listed)
          return false;
        sagas = *listed;
        return sagas.size() == orders &&
               std::all_of(sagas.begin(), sagas.end(), [](auto& s) { return finished(s.status); });
      },
      std::chrono::seconds(90)))
      << "not every saga finished: " << sagas.size() << " listed";

  auto commands = read_commands(log);
  size_t resent = 0;
  std::set<std::string> keys;
  for (const auto& summary : sagas) {
    auto shown = c->saga(summary.id);
    ASSERT_TRUE(shown) << message_of(shown.error());
    const auto& s = *shown;
    auto definition = c->saga_definition_of(s.definition, s.version);
    ASSERT_TRUE(definition) << message_of(definition.error());
    std::vector<std::string> steps;
    for (const auto& step : definition->steps)
      steps.push_back(step.name);
    ASSERT_TRUE(keys.insert(s.idempotency_key).second) << "two sagas for " << s.idempotency_key;
    bool declined = std::stoi(s.idempotency_key.substr(6)) % 5 == 0;
    EXPECT_EQ(s.status, declined ? saga_status::compensated : saga_status::completed) << s.id;
    // No step ran twice under a new attempt: every activity has its one attempt.
    for (const auto& a : s.timeline) {
      ASSERT_EQ(a.attempts.size(), 1u) << s.id << " " << steps[a.step] << ": attempt 1 "
                                       << a.attempts[0].outcome << " " << a.attempts[0].error;
      EXPECT_EQ(a.attempts[0].outcome,
                steps[a.step] == "ProcessPayment" && declined && !a.compensation ? "rejected"
                                                                                 : "ok");
    }
    EXPECT_EQ(s.timeline.size(), declined ? 5u : 3u) << s.id;
    // The services saw each command under attempt 1 only (a repeat is the same message again).
    const auto& seen = commands[s.id];
    std::set<std::string> distinct;
    int first_release = -1, first_cancel = -1;
    for (size_t i = 0; i < seen.size(); ++i) {
      EXPECT_EQ(seen[i].attempt, "1") << s.id << " " << seen[i].step;
      if (!distinct.insert(seen[i].step + seen[i].action).second)
        ++resent;
      if (seen[i].action == "undo" && seen[i].step == "ReserveInventory" && first_release < 0)
        first_release = static_cast<int>(i);
      if (seen[i].action == "undo" && seen[i].step == "CreateOrder" && first_cancel < 0)
        first_cancel = static_cast<int>(i);
    }
    EXPECT_EQ(distinct.size(), declined ? 5u : 3u) << s.id;
    if (declined) {
      EXPECT_GE(first_release, 0) << s.id;
      EXPECT_GT(first_cancel, first_release) << s.id << ": the order was cancelled first";
    }
  }
  EXPECT_EQ(commands.size(), static_cast<size_t>(orders)) << "commands for unknown sagas";
  // How often a crash landed between a command's send and its settling (informational).
  std::cout << "commands handled again after a crash, under their dedup id: " << resent << "\n";
  c.reset();
  EXPECT_EQ(app.stop(), 0);
}
