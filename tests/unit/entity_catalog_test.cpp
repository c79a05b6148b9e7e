// The node's catalog: a change claims its entity, a second change of the same entity waits for
// it, and changes of other entities do not; the catalog's mutex is never held while a claim
// waits or is held. Then, on a real node, the races the claims close.
#include "entity_catalog.hpp"
#include "journal.hpp"
#include "node_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <latch>
#include <thread>

using namespace mailroom;

TEST(entity_catalog, a_claim_makes_a_second_change_of_that_entity_wait_and_no_other) {
  entity_catalog catalog;
  std::promise<void> first_released;
  std::atomic<bool> second_got_it{false};
  std::thread second;
  {
    auto claim = catalog.acquire(entity_kind::queue, "orders");
    second = std::thread{[&] {
      auto again = catalog.acquire(entity_kind::queue, "orders");
      second_got_it = true;
    }};
    // Other entities, and the tables, are free meanwhile: this would block if they were not.
    auto other = catalog.acquire(entity_kind::queue, "billing");
    auto same_name_other_kind = catalog.acquire(entity_kind::topic, "orders");
    catalog.with([](auto& t) { t.queues["billing"].name = "billing"; });
    EXPECT_FALSE(second_got_it);
  }
  second.join();
  EXPECT_TRUE(second_got_it);
}

TEST(entity_catalog, entities_being_created_are_listed_with_the_table) {
  entity_catalog catalog;
  catalog.with([](auto& t) { t.topics["existing"].name = "existing"; });
  auto claim = catalog.acquire(entity_kind::topic, "new");
  auto names = catalog.names_with_claimed(entity_kind::topic, &entity_catalog::tables::topics);
  EXPECT_EQ(names, (std::set<std::string>{"existing", "new"}));
}

// Creates of one queue from many threads journal it once and spawn one actor: before, the check
// and the create were two steps.
TEST_F(node_test, concurrent_creates_of_one_queue_journal_it_once) {
  open();
  auto& log = node_->journal_internal();
  for (int i = 0; i < 10; ++i) {
    auto q = config("q-" + std::to_string(i));
    auto before = log.stats().batches;
    std::latch start{4};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&] {
        start.arrive_and_wait();
        EXPECT_FALSE(node_->create_queue(q));
      });
    for (auto& t : threads)
      t.join();
    EXPECT_EQ(log.stats().batches - before, 1u) << q.name << " was journaled more than once";
  }
  EXPECT_EQ(node_->queue_names().size(), 10u);
}

// A subscription racing its queue's deletion: whichever wins, no topic is left subscribing a
// queue that does not exist (the deletion waits for the subscribe's claim and unsubscribes).
TEST_F(node_test, a_subscription_racing_its_queues_deletion_never_outlives_the_queue) {
  open();
  topic_config t;
  t.name = "events";
  ASSERT_FALSE(node_->create_topic(t));
  for (int i = 0; i < 30; ++i) {
    auto name = "q-" + std::to_string(i);
    ASSERT_FALSE(node_->create_queue(config(name)));
    std::latch start{2};
    std::thread subscriber{[&] {
      start.arrive_and_wait();
      (void)node_->subscribe("events", {name, "", false, true, ""}); // may find it gone
    }};
    std::thread deleter{[&] {
      start.arrive_and_wait();
      EXPECT_FALSE(node_->delete_queue(name));
    }};
    subscriber.join();
    deleter.join();
    auto config = node_->topic_configuration("events");
    ASSERT_TRUE(config);
    for (const auto& s : config->subscriptions)
      EXPECT_TRUE(node_->queue_configuration(s.queue)) << "subscription to deleted " << s.queue;
  }
  reopen(); // and the journal agrees
  auto config = node_->topic_configuration("events");
  ASSERT_TRUE(config);
  EXPECT_TRUE(config->subscriptions.empty());
}

// Two router changes that each close half of a loop: the loop check reads every router, and
// router changes take turns, so at most one of them is stored.
TEST_F(node_test, two_router_changes_racing_to_close_a_loop_cannot_both_pass) {
  open({config("sink-q")});
  auto rule_to = [](const std::string& router) {
    return route_rule{R"({"k": ["v"]})", false, {route_target::kind::router, router}};
  };
  for (int i = 0; i < 20; ++i) {
    auto a = "a-" + std::to_string(i), b = "b-" + std::to_string(i);
    router_config ra{a, {}, false, route_target{route_target::kind::queue, "sink-q"}, ""};
    router_config rb{b, {}, false, route_target{route_target::kind::queue, "sink-q"}, ""};
    ASSERT_FALSE(node_->put_router(ra));
    ASSERT_FALSE(node_->put_router(rb));
    ra.rules = {rule_to(b)};
    rb.rules = {rule_to(a)};
    std::latch start{2};
    std::atomic<int> stored{0};
    std::thread ta{[&] {
      start.arrive_and_wait();
      stored += node_->put_router(ra) ? 0 : 1;
    }};
    std::thread tb{[&] {
      start.arrive_and_wait();
      stored += node_->put_router(rb) ? 0 : 1;
    }};
    ta.join();
    tb.join();
    EXPECT_EQ(stored, 1) << "a loop " << a << " <-> " << b;
  }
}
