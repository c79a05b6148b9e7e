// The node's HTTP face: the AWS query protocol (SQS and SNS; CloudWatch next) served with
// kj-http on the client endpoint's event loop, so a parked long poll costs a promise, not a
// thread, and every call reaches the actors through the same actor_bridge as the Cap'n Proto
// endpoint. What a client can cost is bounded: connections (endpoint_limits), header time and
// idle keep-alive (kj's HttpServerSettings), and the body size (read no further than it).
#pragma once

#include "actor_bridge.hpp"
#include "mailroom/aws/form.hpp"
#include "mailroom/arn.hpp"
#include "mailroom/endpoint_limits.hpp"

#include <kj/async-io.h>
#include <kj/timer.h>

#include <functional>
#include <memory>
#include <string>

namespace mailroom {

class node;

/// One decoded request, whatever the service.
struct aws_request {
  aws::form form;
  std::string host;       ///< the Host header: queue URLs are made from it
  aws_scope scope;        ///< region from the SigV4 scope (else the default), the node's account
  std::string path_queue; ///< POST /ACCOUNT/QUEUE: the queue the path names
};

struct aws_reply {
  unsigned status = 200;
  std::string body; ///< XML
};

/// Largest request body read: a SendMessageBatch of 256 KiB, form-encoded (up to 3 bytes per
/// byte), with room for its field names.
constexpr size_t max_http_body_bytes = 1024 * 1024;

class http_face {
public:
  /// `client_connections`: how many the Cap'n Proto endpoint has open (for /metrics).
  http_face(node& n, actor_bridge& bridge, kj::Timer& timer, endpoint_limits limits,
            std::function<uint32_t()> client_connections);
  ~http_face();

  /// Serves HTTP on `receiver` until the promise is dropped.
  kj::Promise<void> run(kj::ConnectionReceiver& receiver);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace mailroom
