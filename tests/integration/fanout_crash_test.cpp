// Atomic fan-out with real processes: mailroomd is killed with SIGKILL while a publisher fans
// batches out to three queues. After each restart every queue must hold exactly the same
// messages: every confirmed publish in all of them, an unconfirmed one in all or in none.
#include "../unit/test_dir.hpp"
#include "process.hpp"

#include "mailroom/error.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <set>
#include <thread>

using namespace mailroom;
using namespace mailroom::test;

namespace {

const std::vector<std::string> subscriber_queues = {"billing", "shipping", "audit"};

void publish_until_killed(const node_process& d, int round, std::set<std::string>& confirmed,
                          std::set<std::string>& attempted) {
  auto c = d.connect();
  for (int i = 0; c; ++i) {
    std::vector<outgoing_message> batch(50);
    for (int k = 0; k < 50; ++k) {
      batch[k].body =
          "r" + std::to_string(round) + "-" + std::to_string(i) + "-" + std::to_string(k);
      attempted.insert(batch[k].body);
    }
    if (!c->publish("orders", batch))
      return; // the node died under us: this batch is in doubt
    for (auto& m : batch)
      confirmed.insert(m.body);
  }
}

std::set<std::string> drain(client& c, const std::string& queue) {
  std::set<std::string> bodies;
  for (;;) {
    auto got = c.receive(queue, {1000, 200, 60'000});
    EXPECT_TRUE(got) << message_of(got.error());
    if (!got || got->empty())
      return bodies;
    for (const auto& d : *got)
      EXPECT_TRUE(bodies.insert(d.message->body).second) << "delivered twice: " << d.message->body;
  }
}

} // namespace

TEST(crash, kill_9_during_fan_out_leaves_every_publish_in_all_subscriber_queues_or_none) {
  test_dir dir;
  node_process d{dir.path()};
  {
    auto c = d.connect();
    ASSERT_TRUE(c);
    topic_config topic{"orders", {}};
    for (const auto& q : subscriber_queues) {
      queue_config config;
      config.name = q;
      ASSERT_FALSE(c->create_queue(config));
      subscription s;
      s.queue = q;
      s.raw = true;
      topic.subscriptions.push_back(s);
    }
    ASSERT_FALSE(c->create_topic({"orders", {}}));
    for (const auto& s : topic.subscriptions)
      ASSERT_FALSE(c->subscribe("orders", s));
  }
  std::mt19937 rng{20261128};
  std::set<std::string> confirmed, attempted;
  for (int round = 0; round < 3; ++round) {
    auto before = confirmed.size();
    std::thread publisher([&] { publish_until_killed(d, round, confirmed, attempted); });
    // The kill point varies per round; this wait is the experiment, not a synchronization.
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 400));
    d.kill_hard();
    publisher.join();
    d.start();
    ASSERT_GT(confirmed.size(), before) << "round " << round << " confirmed nothing";
  }

  auto c = d.connect();
  ASSERT_TRUE(c);
  std::vector<std::set<std::string>> held;
  for (const auto& q : subscriber_queues)
    held.push_back(drain(*c, q));
  for (size_t i = 0; i < held.size(); ++i) {
    EXPECT_EQ(held[i], held[0]) << subscriber_queues[i] << " differs from " << subscriber_queues[0];
    for (const auto& body : confirmed)
      ASSERT_TRUE(held[i].count(body))
          << "confirmed publish " << body << " missing from " << subscriber_queues[i];
    for (const auto& body : held[i])
      ASSERT_TRUE(attempted.count(body)) << "never published: " << body;
  }
  EXPECT_GE(held[0].size(), confirmed.size());
}
