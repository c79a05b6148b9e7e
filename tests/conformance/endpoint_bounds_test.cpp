// What only the remote face bounds: no call over the wire carries more than max_wire_batch
// messages, receipts or nacks (the embedded node takes what its caller hands it). One entry
// more is refused whole, naming the call and the limit; the limit itself is taken.
#include "faces.hpp"

#include "mailroom/endpoint_limits.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mailroom::test {
namespace {

using endpoint_bounds = faces_test;

void expect_too_many(const caf::error& err, const std::string& what) {
  EXPECT_EQ(code_of(err), errc::invalid_argument) << message_of(err);
  EXPECT_EQ(message_of(err), what + " of " + std::to_string(max_wire_batch + 1) +
                                 " exceeds the limit of " + std::to_string(max_wire_batch));
}

TEST_P(endpoint_bounds, a_batch_over_the_wire_limit_is_refused_whole_naming_the_call) {
  std::vector<outgoing_message> over(max_wire_batch + 1, message("x"));
  expect_too_many(dp().send("orders", over).error(), "send batch");
  expect_too_many(dp().send_each("orders", over).error(), "send batch");
  ASSERT_FALSE(cat().create_topic({"events", {}}));
  expect_too_many(dp().publish("events", over).error(), "publish batch");
  ASSERT_FALSE(
      cat().put_router({"r", {}, false, route_target{route_target::kind::queue, "orders"}, ""}));
  expect_too_many(dp().route("r", over).error(), "route batch");
  expect_too_many(dp().ack("orders", std::vector<std::string>(max_wire_batch + 1, "r")).error(),
                  "ack batch");
  expect_too_many(
      dp().nack("orders", std::vector<nack_request>(max_wire_batch + 1, {"r", -1, "", ""})).error(),
      "nack batch");
  EXPECT_EQ(dp().stats("orders")->sent, 0u) << "nothing of a refused batch went in";

  over.pop_back();
  auto at_limit = dp().send("orders", over);
  ASSERT_TRUE(at_limit) << message_of(at_limit.error());
  EXPECT_EQ(at_limit->size(), max_wire_batch);
}

// The embedded node has no wire: only the remote face runs these.
INSTANTIATE_TEST_SUITE_P(remote, endpoint_bounds, ::testing::Values(face::remote),
                         [](const auto&) { return "remote_client"; });

} // namespace
} // namespace mailroom::test
