// A real node (actors, journal, SQLite on disk) on a virtual clock, shared by the node-level
// unit tests: open/reopen, virtual time that drives every timer of the node, small message
// builders. Time moves only by advance(): no test waits for a timer to fire on its own.
#pragma once

#include "mailroom/clock.hpp"
#include "mailroom/error.hpp"
#include "mailroom/node.hpp"
#include "eventually.hpp"
#include "test_dir.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

namespace mailroom::test {

constexpr int64_t t0 = 1'700'000'000'000;

class node_test : public ::testing::Test {
protected:
  void open(std::vector<queue_config> queues = {}) {
    node_config c;
    c.data_dir = dir.path();
    c.log_level = "warn";
    c.queues = std::move(queues);
    c.clock = clock;
    c.queue_cache_bytes = queue_cache_bytes;
    c.max_memory_bytes = max_memory_bytes;
    auto n = node::open(std::move(c));
    ASSERT_TRUE(n) << message_of(n.error());
    node_ = std::move(*n);
  }

  void reopen() {
    node_.reset();
    open();
  }

  /// Moves virtual time, delivering every timer due by then (leases, delays, backoff, long
  /// polls, redrive pacing, saga timers, alarm checks). A request sent to an actor afterwards is
  /// handled after its due timers.
  void advance(int64_t ms) { clock->advance(ms); }

  static queue_config config(std::string name) {
    queue_config q;
    q.name = std::move(name);
    q.retry = {1'000, 2.0, 60'000};
    return q;
  }

  static std::vector<outgoing_message> bodies(std::initializer_list<const char*> xs) {
    std::vector<outgoing_message> out;
    for (auto x : xs) {
      outgoing_message m;
      m.body = x;
      out.push_back(std::move(m));
    }
    return out;
  }

  test_dir dir;
  size_t queue_cache_bytes = node_config{}.queue_cache_bytes;
  size_t max_memory_bytes = node_config{}.max_memory_bytes;
  std::shared_ptr<virtual_clock> clock = std::make_shared<virtual_clock>(t0);
  std::unique_ptr<node> node_;
};

} // namespace mailroom::test

using mailroom::test::eventually;
using mailroom::test::node_test;
