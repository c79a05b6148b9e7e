// Catalog changes with real processes: mailroomd is killed with SIGKILL while a client creates
// queues (with dead-letter sinks), subscribes them to a topic, creates routers and alarms on
// them, and deletes every other queue. After each restart every confirmed change is there (a
// created entity with its configuration, a deleted queue gone and unsubscribed), and what was
// in flight is either wholly there or wholly absent.
#include "../unit/test_dir.hpp"
#include "process.hpp"

#include "mailroom/error.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <thread>

using namespace mailroom;
using namespace mailroom::test;

namespace {

/// What the client was told is durable.
struct confirmed_catalog {
  std::map<std::string, queue_config> queues; ///< created and not deleted
  std::set<std::string> deleted;              ///< deleted queues
  std::set<std::string> subscribed, routers, alarms;
};

queue_config config_of(const std::string& name) {
  queue_config q;
  q.name = name;
  q.visibility_timeout_ms = 7'000 + static_cast<int64_t>(name.size()); // not the default
  q.dead_letter_target = name + "-dead";
  q.max_receive_count = 4;
  return q;
}

void change_until_killed(const node_process& d, int round, confirmed_catalog& done) {
  auto c = d.connect();
  for (int i = 0; c; ++i) {
    auto name = "q" + std::to_string(round) + "-" + std::to_string(i);
    auto q = config_of(name);
    if (c->create_queue(q))
      return; // the node died under us: this change is in doubt
    done.queues[name] = q;
    if (c->subscribe("events", {name, "", false, true, ""}))
      return;
    done.subscribed.insert(name);
    router_config r{"r-" + name, {}, false, route_target{route_target::kind::queue, name}, ""};
    if (c->put_router(r))
      return;
    done.routers.insert(r.name);
    alarm_config a{"a-" + name, "queue:" + name, "visible", 1000, 60'000, "events", 1'000,
                   {},          false,           60'000,    {}};
    if (c->put_alarm(a))
      return;
    done.alarms.insert(a.name);
    if (i % 2 == 1) {
      // A deletion is in doubt until it answers (it may be durable although the answer was
      // lost), so what it deletes is no longer confirmed to exist from the moment it is sent.
      // The router on the queue goes first: a router's target should exist while it does.
      done.routers.erase(r.name);
      if (c->delete_router(r.name))
        return;
      done.queues.erase(name);
      done.subscribed.erase(name);
      if (c->delete_queue(name))
        return;
      done.deleted.insert(name);
    }
  }
}

} // namespace

TEST(crash, kill_9_during_catalog_changes_keeps_every_confirmed_change) {
  test_dir dir;
  node_process d{dir.path()};
  {
    auto c = d.connect();
    ASSERT_TRUE(c);
    ASSERT_FALSE(c->create_topic({"events", {}}));
  }
  std::mt19937 rng{20261202};
  confirmed_catalog done;
  for (int round = 0; round < 3; ++round) {
    auto before = done.queues.size() + done.deleted.size();
    std::thread changer([&] { change_until_killed(d, round, done); });
    // The kill point varies per round; this wait is the experiment, not a synchronization.
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 300));
    d.kill_hard();
    changer.join();
    d.start();
    ASSERT_GT(done.queues.size() + done.deleted.size(), before)
        << "round " << round << " confirmed nothing";
  }

  auto c = d.connect();
  ASSERT_TRUE(c);
  for (const auto& [name, q] : done.queues) {
    auto held = c->queue_configuration(name);
    ASSERT_TRUE(held) << "confirmed queue " << name << " lost: " << message_of(held.error());
    EXPECT_EQ(*held, q) << name;
  }
  for (const auto& name : done.deleted)
    EXPECT_FALSE(c->queue_configuration(name)) << "deleted queue " << name << " is back";
  auto topic = c->topic_configuration("events");
  ASSERT_TRUE(topic) << message_of(topic.error());
  std::set<std::string> subscribed;
  for (const auto& s : topic->subscriptions) {
    subscribed.insert(s.queue);
    EXPECT_TRUE(c->queue_configuration(s.queue)) << "a subscription outlived queue " << s.queue;
  }
  for (const auto& q : done.subscribed)
    EXPECT_TRUE(subscribed.count(q)) << "confirmed subscription of " << q << " lost";
  auto routers = c->list_routers();
  ASSERT_TRUE(routers);
  for (const auto& r : done.routers)
    EXPECT_TRUE(std::count(routers->begin(), routers->end(), r)) << "confirmed router " << r;
  auto alarms = c->list_alarms();
  ASSERT_TRUE(alarms);
  for (const auto& a : done.alarms)
    EXPECT_TRUE(std::count(alarms->begin(), alarms->end(), a)) << "confirmed alarm " << a;
  // Every queue that exists has its dead-letter sink (created before it, in its own commit).
  auto queues = c->list_queues();
  ASSERT_TRUE(queues);
  for (const auto& q : *queues)
    EXPECT_TRUE(c->dead_letters(q + "-dead", 1)) << "queue " << q << " without its sink";
}
