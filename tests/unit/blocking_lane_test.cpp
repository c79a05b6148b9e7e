// The endpoint's pool for blocking calls: results come back on the kj thread, and calls past
// the bound are refused at once instead of costing a thread each.
#include "blocking_lane.hpp"
#include "mailroom/error.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <gtest/gtest.h>
#include <kj/async-io.h>

#include <future>

using namespace mailroom;

TEST(blocking_lane, runs_calls_off_the_loop_and_refuses_past_its_bound) {
  auto io = kj::setupAsyncIo();
  caf::actor_system_config cfg;
  caf::actor_system system{cfg};
  std::promise<void> release;
  auto released = release.get_future().share();
  {
    blocking_lane lane{system, 1, 2};
    auto first = lane.run([released] {
      released.wait(); // a catalog change waiting for its commit
      return caf::error{};
    });
    auto second = lane.run([] { return make_error(errc::invalid_argument, "bad name"); });
    EXPECT_EQ(lane.in_flight(), 2u);
    auto third = lane.run([] { return caf::error{}; }).wait(io.waitScope);
    EXPECT_EQ(code_of(third), errc::unavailable);
    EXPECT_NE(message_of(third).find("the node is busy: 2 catalog and query calls"),
              std::string::npos)
        << message_of(third);
    release.set_value();
    EXPECT_FALSE(first.wait(io.waitScope));
    EXPECT_EQ(code_of(second.wait(io.waitScope)), errc::invalid_argument);
    EXPECT_EQ(lane.in_flight(), 0u);
  }
}
