// The SQS actions of the query protocol (Version 2012-11-05) on a node: each decodes its form
// fields, asks the queue actor or runs the catalog change off the loop, and answers in the XML
// shapes botocore parses (../shared/reference/sqs-sns-compat.md §2). Bad input is refused with
// SQS's error code and a message naming the field.
#pragma once

#include "actor_bridge.hpp"
#include "http_face.hpp"

#include <kj/async.h>

namespace mailroom {

class node;

class sqs_api {
public:
  sqs_api(node& n, actor_bridge& bridge) : node_(n), bridge_(bridge) {}

  kj::Promise<aws_reply> handle(const aws_request& request);

private:
  node& node_;
  actor_bridge& bridge_;
};

/// An SQS error reply: <ErrorResponse> with Type, Code and Message.
aws_reply sqs_error(unsigned status, const std::string& code, const std::string& message);
/// The SQS error for a Mailroom error (unknown_queue → NonExistentQueue, queue_full →
/// RequestThrottled, ...).
aws_reply sqs_error(const caf::error& err);

} // namespace mailroom
