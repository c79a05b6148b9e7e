// Value types of topics (fan-out): subscriptions, topic configuration, publish results. Like
// types.hpp they mirror Cap'n Proto structs (schemas/journal.capnp, schemas/client.capnp).
#pragma once

#include "mailroom/types.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mailroom {

/// One queue subscribed to a topic. A topic has at most one subscription per queue (as SNS has
/// one per endpoint), so the queue names the subscription.
struct subscription {
  std::string queue;
  /// SNS filter policy JSON; empty: every message matches.
  std::string filter_policy;
  /// true: the policy looks at fields of the JSON body (SNS scope MessageBody), not attributes.
  bool filter_on_body = false;
  /// true: the queue gets the body as published; false: the SNS notification JSON around it.
  bool raw = false;
  /// Sink for messages that cannot be enqueued (queue full, too large, queue gone); empty: such
  /// a message fails the whole publish.
  std::string dead_letter_target;
  /// Or a queue for them (SNS RedrivePolicy): they arrive there with their death record as the
  /// last of their history. At most one of the two.
  std::string dead_letter_queue{};

  friend bool operator==(const subscription&, const subscription&) = default;
};

struct topic_config {
  std::string name;
  std::vector<subscription> subscriptions;
  /// A label for people (SNS DisplayName), at most 100 bytes; the broker does nothing with it.
  std::string display_name{};

  friend bool operator==(const topic_config&, const topic_config&) = default;
};

/// Checks names, filter policies and duplicate subscriptions; the error names the topic and
/// the subscription.
caf::error validate(const topic_config& config);

struct publish_result {
  std::vector<std::string> ids; ///< one per published message, in order
  uint64_t deliveries = 0;      ///< copies enqueued into subscriber queues
  uint64_t unmatched = 0;       ///< messages no subscription's filter took
  uint64_t dead_lettered = 0;   ///< copies that went to a subscription's sink instead
};

struct topic_stats {
  std::string name;
  uint64_t subscriptions = 0;
  uint64_t published = 0; ///< counters since node start
  uint64_t deliveries = 0;
  uint64_t unmatched = 0;
  uint64_t dead_lettered = 0;
};

} // namespace mailroom

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::topic_config)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::publish_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::topic_stats)
