// The node's Cap'n Proto RPC client endpoint (schemas/client.capnp), served on its own kj
// event-loop thread. Each call is turned into a request to a queue or sink actor; the answer
// comes back to the kj thread through a cross-thread fulfiller, so neither side blocks the
// other. Malformed frames close that one connection; the node keeps running.
#pragma once

#include "mailroom/address.hpp"
#include "mailroom/endpoint_limits.hpp"

#include <caf/expected.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace mailroom {

class node;

class client_endpoint {
public:
  /// Binds `listen` ("HOST:PORT"; port 0 picks a free one) and starts serving `n`; with
  /// `http` (same form) also the SQS-compatible HTTP API, on the same event loop.
  /// REQUIRES: `n` outlives the endpoint.
  static caf::expected<std::unique_ptr<client_endpoint>> start(node& n, const std::string& listen,
                                                               const std::string& http = {});

  /// Stops accepting, closes connections and joins the thread.
  ~client_endpoint();

  /// The bound port (useful when started with port 0).
  uint16_t port() const { return port_; }
  /// The bound HTTP port; 0 when HTTP is not served.
  uint16_t http_port() const { return http_port_; }

private:
  struct impl;
  client_endpoint() = default;
  std::unique_ptr<impl> impl_;
  uint16_t port_ = 0;
  uint16_t http_port_ = 0;
};

} // namespace mailroom
