// The endpoint's bridge to the actors: replies and blocking calls' results come back on the kj
// thread, and blocking calls past the bound are refused at once instead of costing a thread each.
#include "actor_bridge.hpp"
#include "mailroom/error.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <gtest/gtest.h>
#include <kj/async-io.h>

#include <future>

using namespace mailroom;

TEST(actor_bridge, runs_blocking_calls_off_the_loop_and_refuses_past_its_bound) {
  auto io = kj::setupAsyncIo();
  caf::actor_system_config cfg;
  caf::actor_system system{cfg};
  std::promise<void> release;
  auto released = release.get_future().share();
  {
    actor_bridge lane{system, 1, 2};
    auto first = lane.run([released] {
      released.wait(); // a catalog change waiting for its commit
      return caf::error{};
    });
    auto second = lane.run([] { return make_error(errc::invalid_argument, "bad name"); });
    EXPECT_EQ(lane.blocking_in_flight(), 2u);
    auto third = lane.run([] { return caf::error{}; }).wait(io.waitScope);
    EXPECT_EQ(code_of(third), errc::unavailable);
    EXPECT_NE(message_of(third).find("the node is busy: 2 catalog and query calls"),
              std::string::npos)
        << message_of(third);
    release.set_value();
    EXPECT_FALSE(first.wait(io.waitScope));
    EXPECT_EQ(code_of(second.wait(io.waitScope)), errc::invalid_argument);
    EXPECT_EQ(lane.blocking_in_flight(), 0u);
  }
}

TEST(actor_bridge, a_request_is_answered_on_the_kj_thread) {
  auto io = kj::setupAsyncIo();
  caf::actor_system_config cfg;
  caf::actor_system system{cfg};
  auto doubler = system.spawn([]() -> caf::behavior {
    return {[](int x) -> caf::result<int> {
      if (x < 0)
        return make_error(errc::invalid_argument, "negative");
      return 2 * x;
    }};
  });
  {
    actor_bridge bridge{system, 1, 1};
    auto a = bridge.ask<int>(doubler, 21);
    auto b = bridge.ask<int>(doubler, -1);
    auto ra = a.wait(io.waitScope);
    ASSERT_TRUE(ra);
    EXPECT_EQ(*ra, 42);
    auto rb = b.wait(io.waitScope);
    ASSERT_FALSE(rb);
    EXPECT_EQ(code_of(rb.error()), errc::invalid_argument);
  }
  caf::anon_send_exit(doubler, caf::exit_reason::user_shutdown);
}
