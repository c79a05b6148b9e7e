// The catalog as its users see it: creating, reconfiguring, listing, describing and deleting a
// node's queues, topics (and their subscriptions), routers and alarms, the same whether the node
// is embedded (mailroom::node) or across the network (mailroom::client). The conformance suite
// (tests/conformance/catalog_test.cpp) holds both to the same answers and errors. Messages
// themselves are the data plane's (data_plane.hpp).
//
// Every change returns once it is journaled and the entity's actor runs with it. create_*
// succeeds again for the same configuration and is already_exists for another; put_* creates
// or replaces. A missing entity gives unknown_queue (a queue) or not_found (anything else),
// naming it; a bad configuration gives invalid_argument naming the entity and the field.
#pragma once

#include "mailroom/alarm_types.hpp"
#include "mailroom/router_types.hpp"
#include "mailroom/topic_types.hpp"
#include "mailroom/types.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <string>
#include <vector>

namespace mailroom {

class catalog {
public:
  virtual ~catalog() = default;

  // Queues. A dead-letter target that does not exist is created.
  virtual caf::error create_queue(const queue_config& config) = 0;
  virtual caf::error put_queue(const queue_config& config) = 0;
  /// Deletes the queue and its messages, and unsubscribes it from every topic.
  virtual caf::error delete_queue(const std::string& name) = 0;
  virtual caf::expected<std::vector<std::string>> list_queues() = 0;
  virtual caf::expected<queue_config> queue_configuration(const std::string& name) = 0;

  // Topics. Every subscribed queue must exist; a subscription's sink is created.
  virtual caf::error create_topic(const topic_config& config) = 0;
  /// Deletes the topic; its queues stay.
  virtual caf::error delete_topic(const std::string& name) = 0;
  virtual caf::expected<std::vector<std::string>> list_topics() = 0;
  virtual caf::expected<topic_config> topic_configuration(const std::string& name) = 0;
  /// Subscribing again with the same settings succeeds; with others, already_exists.
  virtual caf::error subscribe(const std::string& topic, const subscription& sub) = 0;
  virtual caf::error unsubscribe(const std::string& topic, const std::string& queue) = 0;

  // Routers: targets must exist; a router that would reach itself is refused.
  virtual caf::error put_router(const router_config& config) = 0;
  virtual caf::error delete_router(const std::string& name) = 0;
  virtual caf::expected<std::vector<std::string>> list_routers() = 0;
  virtual caf::expected<router_config> router_configuration(const std::string& name) = 0;

  // Alarms: the topic for alerts must exist; the watched entity may come later.
  virtual caf::error put_alarm(const alarm_config& config) = 0;
  virtual caf::error delete_alarm(const std::string& name) = 0;
  virtual caf::expected<std::vector<std::string>> list_alarms() = 0;
  virtual caf::expected<alarm_config> alarm_configuration(const std::string& name) = 0;
  /// Whether it fires now, and the value it last read.
  virtual caf::expected<alarm_status> alarm_state_of(const std::string& name) = 0;
};

} // namespace mailroom
