// Serves a Cap'n Proto bootstrap capability over TCP on the calling kj event loop, bounding what
// clients can cost: a connection limit, an idle timeout, and per-frame limits (see
// connection_guard.hpp). It knows nothing of the node: the client endpoint hands it a factory
// of per-connection servers.
//
// Accept errors (EMFILE when descriptors run out, ECONNABORTED, ...) do not end the loop: it
// logs them once per interval and retries after a backoff (10 ms doubling to 1 s), so the
// endpoint comes back by itself once descriptors are free again.
#pragma once

#include "mailroom/endpoint_limits.hpp"

#include <capnp/capability.h>
#include <kj/async-io.h>
#include <kj/timer.h>

#include <functional>
#include <memory>
#include <string>

namespace mailroom {

class endpoint_listener {
public:
  using server_factory = std::function<kj::Own<capnp::Capability::Server>()>;

  /// `name` prefixes log lines ("client endpoint").
  endpoint_listener(std::string name, kj::Timer& timer, kj::ConnectionReceiver& receiver,
                    endpoint_limits limits, server_factory make_server);
  ~endpoint_listener();

  /// Accepts until the promise is dropped; it never resolves.
  kj::Promise<void> run();

  /// Connections open now.
  uint32_t connections() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Raises the soft descriptor limit towards the hard one when `wanted` descriptors would not
/// fit under it, and logs when even the hard limit is short. Returns the soft limit in effect.
uint64_t make_room_for_descriptors(uint64_t wanted);

} // namespace mailroom
