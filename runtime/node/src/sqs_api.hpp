// The SQS actions of the query protocol (Version 2012-11-05) on a node: each decodes its form
// fields, asks the queue actor or runs the catalog change off the loop, and answers in the XML
// shapes botocore parses (../shared/reference/sqs-sns-compat.md §2). Bad input is refused with
// SQS's error code and a message naming the field. Queue actions are in sqs_queues.cpp, message
// actions in sqs_messages.cpp.
#pragma once

#include "actor_bridge.hpp"
#include "aws_query.hpp"
#include "http_face.hpp"
#include "receive_attempts.hpp"
#include "mailroom/types.hpp"

#include <kj/async.h>

#include <optional>
#include <string>

namespace mailroom {

class node;

class sqs_api {
public:
  sqs_api(node& n, actor_bridge& bridge) : node_(n), bridge_(bridge) {}

  kj::Promise<aws_reply> handle(const aws_request& request);

private:
  kj::Promise<aws_reply> queues(const aws_request& r, const std::string& action);
  kj::Promise<aws_reply> messages(const aws_request& r, const std::string& action);
  /// Journals a queue's changed configuration and answers `action`.
  kj::Promise<aws_reply> put_queue(const queue_config& changed, const char* action);
  /// A lease's new visibility, or why not (ChangeMessageVisibility and its batch).
  kj::Promise<std::optional<refusal>>
  change_visibility(const caf::actor& queue, const std::string& receipt, int64_t seconds);
  int64_t node_clock_ms() const;

  node& node_;
  actor_bridge& bridge_;
  receive_attempts attempts_; // only touched on the face's event loop
};

/// An SQS error reply: <ErrorResponse> with Type, Code and Message.
aws_reply sqs_error(unsigned status, const std::string& code, const std::string& message);
/// The SQS error for a Mailroom error (unknown_queue → NonExistentQueue, queue_full →
/// RequestThrottled, ...).
aws_reply sqs_error(const caf::error& err);

} // namespace mailroom
