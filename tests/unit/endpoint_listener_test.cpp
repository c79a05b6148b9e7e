// The endpoint's deadlines on virtual time: a kj::TimerImpl drives the listener's every timer,
// and the test advances it. Real loopback sockets, one event loop, no sleeps.
#include "endpoint_listener.hpp"

#include "client.capnp.h"

#include <capnp/rpc-twoparty.h>
#include <gtest/gtest.h>
#include <kj/async-io.h>
#include <kj/timer.h>

#include <cstring>

using namespace mailroom;

namespace {

/// A node whose listQueues never answers: a call in flight, as a long poll is.
class hanging_node final : public schema::Node::Server {
protected:
  kj::Promise<void> listQueues(ListQueuesContext) override { return kj::NEVER_DONE; }
};

class endpoint_listener_test : public ::testing::Test {
protected:
  ~endpoint_listener_test() noexcept override {} // kj's io context may throw from its own
  void start(endpoint_limits limits) {
    receiver = io.provider->getNetwork().parseAddress("127.0.0.1", 0).wait(io.waitScope)->listen();
    listener = std::make_unique<endpoint_listener>("test endpoint", timer, *receiver, limits,
                                                   [] { return kj::heap<hanging_node>(); });
    serving = listener->run().eagerlyEvaluate([](kj::Exception&&) {});
  }

  kj::Own<kj::AsyncIoStream> connect() {
    auto stream = io.provider->getNetwork()
                      .parseAddress("127.0.0.1", receiver->getPort())
                      .wait(io.waitScope)
                      ->connect()
                      .wait(io.waitScope);
    settle();
    return stream;
  }

  /// Runs every event that is ready (socket readiness included); time does not move.
  void settle() {
    for (int i = 0; i < 20; ++i)
      io.waitScope.poll();
  }

  void advance(int64_t ms) {
    timer.advanceTo(timer.now() + ms * kj::MILLISECONDS);
    settle();
  }

  /// Whether the node closed `stream`: a read that completes at once with nothing (or fails).
  bool closed(kj::AsyncIoStream& stream) {
    char c;
    auto read = stream.tryRead(&c, 1, 1);
    if (!read.poll(io.waitScope))
      return false;
    try {
      return read.wait(io.waitScope) == 0;
    } catch (const kj::Exception&) {
      return true;
    }
  }

  kj::AsyncIoContext io = kj::setupAsyncIo();
  kj::TimerImpl timer{kj::origin<kj::TimePoint>()};
  kj::Own<kj::ConnectionReceiver> receiver;
  std::unique_ptr<endpoint_listener> listener;
  kj::Promise<void> serving = nullptr;
};

endpoint_limits short_limits() {
  endpoint_limits limits;
  limits.idle_timeout_ms = 60'000;
  limits.frame_timeout_ms = 5'000;
  return limits;
}

} // namespace

TEST_F(endpoint_listener_test, an_idle_connection_is_closed_at_its_idle_timeout_not_before) {
  start(short_limits());
  auto stream = connect();
  EXPECT_EQ(listener->connections(), 1u);
  advance(59'999);
  EXPECT_FALSE(closed(*stream));
  advance(5'001); // the watchdog looks at least once per frame timeout
  EXPECT_TRUE(closed(*stream));
  EXPECT_EQ(listener->connections(), 0u);
}

TEST_F(endpoint_listener_test, a_frame_not_whole_by_its_deadline_closes_its_connection) {
  start(short_limits());
  auto stream = connect();
  advance(30'000); // the frame starts well after the connection
  char header[8] = {};
  uint32_t words = 128; // 1 KiB announced, 8 bytes of it sent
  std::memcpy(header + 4, &words, 4);
  stream->write(header, sizeof(header)).wait(io.waitScope);
  stream->write("12345678", 8).wait(io.waitScope);
  settle();
  advance(4'999);
  EXPECT_FALSE(closed(*stream));
  advance(2);
  EXPECT_TRUE(closed(*stream));
}

TEST_F(endpoint_listener_test, a_call_in_flight_keeps_a_quiet_connection_open) {
  start(short_limits());
  auto stream = connect();
  capnp::TwoPartyClient rpc{*stream};
  auto node = rpc.bootstrap().castAs<schema::Node>();
  auto call = node.listQueuesRequest().send(); // never answered, like a long poll
  settle();
  advance(3 * 60'000);
  EXPECT_EQ(listener->connections(), 1u);
  EXPECT_FALSE(call.poll(io.waitScope)); // still waiting, not cut off
}

TEST_F(endpoint_listener_test, a_connection_past_the_limit_is_closed_at_accept) {
  auto limits = short_limits();
  limits.max_connections = 2;
  start(limits);
  auto a = connect(), b = connect(), c = connect();
  EXPECT_FALSE(closed(*a));
  EXPECT_FALSE(closed(*b));
  EXPECT_TRUE(closed(*c));
  EXPECT_EQ(listener->connections(), 2u);
}
