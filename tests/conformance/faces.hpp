// Both faces of one node for the conformance suites: the embedded node itself, and a client of
// the same node served by its Cap'n Proto endpoint on a loopback port. A test written against
// data_plane& or catalog& runs on each (INSTANTIATE_FACES). The node runs on a virtual clock:
// the client only carries calls.
#pragma once

#include "mailroom/catalog.hpp"
#include "mailroom/client.hpp"
#include "mailroom/client_endpoint.hpp"
#include "mailroom/clock.hpp"
#include "mailroom/data_plane.hpp"
#include "mailroom/error.hpp"
#include "mailroom/node.hpp"
#include "test_dir.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace mailroom::test {

enum class face { embedded, remote };

constexpr int64_t t0 = 1'700'000'000'000;

class faces_test : public ::testing::TestWithParam<face> {
protected:
  void SetUp() override {
    node_config c;
    c.data_dir = dir.path();
    c.log_level = "warn";
    c.trace = true;
    c.clock = clock;
    c.max_memory_bytes = max_memory_bytes;
    auto n = node::open(std::move(c));
    ASSERT_TRUE(n) << message_of(n.error());
    node_ = std::move(*n);
    ASSERT_FALSE(node_->create_queue(queue("orders")));
    if (GetParam() == face::embedded) {
      plane_ = node_.get();
      catalog_ = node_.get();
      return;
    }
    auto endpoint = client_endpoint::start(*node_, "127.0.0.1:0");
    ASSERT_TRUE(endpoint) << message_of(endpoint.error());
    endpoint_ = std::move(*endpoint);
    auto cl = client::connect("127.0.0.1:" + std::to_string(endpoint_->port()));
    ASSERT_TRUE(cl) << message_of(cl.error());
    client_ = std::move(*cl);
    plane_ = client_.get();
    catalog_ = client_.get();
  }

  void TearDown() override {
    client_.reset(); // the client before the endpoint, the endpoint before the node
    endpoint_.reset();
    node_.reset();
  }

  data_plane& dp() { return *plane_; }
  catalog& cat() { return *catalog_; }

  static queue_config queue(std::string name) {
    queue_config q;
    q.name = std::move(name);
    q.visibility_timeout_ms = 30'000;
    q.retry = {1'000, 2.0, 60'000};
    return q;
  }

  static outgoing_message message(std::string body, attribute_list attributes = {}) {
    outgoing_message m;
    m.body = std::move(body);
    m.attributes = std::move(attributes);
    return m;
  }

  std::vector<delivery> receive(const std::string& q, uint32_t max = 10) {
    auto got = dp().receive(q, {max, 0, -1});
    EXPECT_TRUE(got) << message_of(got.error());
    return got ? std::move(*got) : std::vector<delivery>{};
  }

  test_dir dir;
  size_t max_memory_bytes = node_config{}.max_memory_bytes; ///< a suite may set it smaller
  std::shared_ptr<virtual_clock> clock = std::make_shared<virtual_clock>(t0);
  std::unique_ptr<node> node_;
  std::unique_ptr<client_endpoint> endpoint_;
  std::unique_ptr<client> client_;
  data_plane* plane_ = nullptr;
  catalog* catalog_ = nullptr;
};

/// Runs every TEST_P of `suite` on the embedded node and on the remote client.
#define INSTANTIATE_FACES(suite)                                                                   \
  INSTANTIATE_TEST_SUITE_P(                                                                        \
      faces, suite,                                                                                \
      ::testing::Values(::mailroom::test::face::embedded, ::mailroom::test::face::remote),         \
      [](const ::testing::TestParamInfo<::mailroom::test::face>& info) {                           \
        return info.param == ::mailroom::test::face::embedded ? "embedded_node" : "remote_client"; \
      })

} // namespace mailroom::test
