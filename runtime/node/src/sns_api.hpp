// The SNS actions of the query protocol (Version 2010-03-31) on a node, for topics that deliver
// to SQS queues: topics and subscriptions through the catalog, Publish through the topic
// actor, with its notifications' ARNs in the region the request was signed for. Subscriptions
// are auto-confirmed; a subscription's ARN is its topic's ARN and ":QUEUE" (a topic subscribes
// a queue once). Bad input is refused with SNS's codes, naming the field.
#pragma once

#include "actor_bridge.hpp"
#include "http_face.hpp"

#include <kj/async.h>

namespace mailroom {

class node;

class sns_api {
public:
  sns_api(node& n, actor_bridge& bridge) : node_(n), bridge_(bridge) {}

  kj::Promise<aws_reply> handle(const aws_request& request);

private:
  node& node_;
  actor_bridge& bridge_;
};

} // namespace mailroom
