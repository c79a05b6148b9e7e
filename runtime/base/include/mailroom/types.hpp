// Plain value types shared by the actors, the node API and the client endpoint. They mirror the
// Cap'n Proto structs in schemas/; codec.hpp converts between the two so that generated
// camelCase code stays behind one layer.
#pragma once

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailroom {

/// One message attribute: a name, a value and its type as SQS and SNS know it: "String" (the
/// default, kept as empty), "Number", "Binary", or one of those with a custom suffix
/// ("Number.int"). Binary values are raw bytes, the others text; all are kept byte for byte.
struct attribute {
  attribute() = default;
  attribute(std::string k, std::string v, std::string type = {})
      : key(std::move(k)), value(std::move(v)), data_type(std::move(type)) {}

  std::string key;
  std::string value;
  std::string data_type; ///< empty: String

  bool binary() const { return data_type.compare(0, 6, "Binary") == 0; }
  /// The type as SQS names it ("String" for the default).
  std::string type_name() const { return data_type.empty() ? "String" : data_type; }

  friend bool operator==(const attribute&, const attribute&) = default;
};
using attribute_list = std::vector<attribute>;

/// Why and when a message was dead-lettered.
struct death_record {
  std::string reason; ///< max_receives | rejected | expired | too_large | unroutable
  std::string error;  ///< last error text from the consumer
  std::string source; ///< queue it died in
  uint32_t receive_count = 0;
  int64_t first_failure_ms = 0;
  int64_t last_failure_ms = 0;
  int64_t dead_at_ms = 0;
};

/// A message as stored and delivered. Immutable once accepted by a queue, except for the
/// receive count and history, which change only when it moves between queues and sinks.
struct envelope {
  std::string id;
  std::string queue;
  std::string body;
  attribute_list attributes;
  std::string dedup_id;
  std::string causation_id;
  std::string correlation_id;
  std::string group_id; ///< FIFO message group; empty on standard queues
  int64_t sent_at_us = 0;
  int64_t enqueued_at_ms = 0;
  uint32_t receive_count = 0;
  std::vector<death_record> history;

  /// Bytes counted against a queue's max message size: body plus attribute keys and values.
  size_t payload_size() const;
  /// The value of the first attribute named `key`, or nullptr.
  const std::string* attribute(std::string_view key) const;
};

using envelope_ptr = std::shared_ptr<const envelope>;

/// What a producer hands to send.
struct outgoing_message {
  /// Empty: the queue gives the message a new id. A sender that must know the id before the
  /// send is confirmed sets one from new_message_id() (a saga journals its command's id with
  /// the transition that sends it). Queues keep it; topic and router copies get their own.
  std::string id;
  std::string body;
  attribute_list attributes;
  int64_t delay_ms = -1; ///< -1: the queue's default delay
  std::string dedup_id;
  std::string causation_id;
  std::string correlation_id;
  std::string group_id;   ///< FIFO queues: required; the order and lease unit
  int64_t sent_at_us = 0; ///< 0: stamped by the queue on arrival
  /// Topics only: the SNS Subject of an enveloped notification (empty: none).
  std::string subject;
};

/// One message handed to a consumer under a lease.
struct delivery {
  envelope_ptr message;
  std::string receipt;
  uint32_t receive_count = 0;
};

struct retry_policy {
  int64_t base_ms = 1000;
  double factor = 2.0;
  int64_t cap_ms = 300'000;

  friend bool operator==(const retry_policy&, const retry_policy&) = default;
};

struct queue_config {
  std::string name;
  int64_t visibility_timeout_ms = 30'000;
  int64_t delay_ms = 0;
  int64_t retention_ms = 4LL * 24 * 3600 * 1000; // SQS default: 4 days
  uint32_t max_message_bytes = 256 * 1024;
  uint32_t max_receive_count = 0; ///< 0: never dead-letter for receives
  std::string dead_letter_target; ///< the dead-letter sink dead messages go to
  /// Or the queue they go to (an SQS dead-letter queue): received like any message there, each
  /// keeps its death record as the last of its history. At most one of the two is set.
  std::string dead_letter_queue;
  retry_policy retry;
  /// Messages the queue holds at most (0: no limit). A send that would pass it is refused with
  /// errc::queue_full: backpressure that producers see, instead of unbounded memory.
  uint64_t max_depth = 0;
  /// A send whose dedup key was seen within this window is accepted but not enqueued again; the
  /// reply gives the original message id (SQS: 5 minutes).
  int64_t dedup_window_ms = 5 * 60 * 1000;
  /// Messages without a dedup id are keyed by the SHA-256 of their body.
  bool content_based_dedup = false;
  /// FIFO (SQS FIFO semantics): every message names a group; a group's messages are delivered
  /// in order, one at a time: the next only after the one before it is acked or dead-lettered.
  bool fifo = false;
  /// The long poll of a receive that names none (SQS ReceiveMessageWaitTimeSeconds, 0..20 s);
  /// the HTTP API applies it when WaitTimeSeconds is absent.
  int64_t receive_wait_ms = 0;
  /// Labels for the operator (SQS queue tags); the broker does nothing with them.
  std::map<std::string, std::string> tags;

  /// Whether dead messages have somewhere to go (a sink or a queue).
  bool dead_letters() const { return !dead_letter_target.empty() || !dead_letter_queue.empty(); }
  /// Where they go, as logs and traces name it: "sink 'x'" or "queue 'x'".
  std::string dead_letter_destination() const;

  friend bool operator==(const queue_config&, const queue_config&) = default;
};

/// Largest body plus attributes a queue may be configured to take (max_message_size).
constexpr uint64_t max_message_bytes_limit = 64ull * 1024 * 1024;
/// Longest per-message delay (SQS: 15 minutes).
constexpr int64_t max_message_delay_ms = 15 * 60 * 1000;
/// Tags a queue carries at most (SQS: 50).
constexpr size_t max_queue_tags = 50;
/// Longest lease (SQS: 12 hours).
constexpr int64_t max_visibility_ms = 12 * 3600 * 1000;

/// Checks a queue configuration; the error names the queue and the offending field.
caf::error validate(const queue_config& config);

/// Checks an entity name (1 to 80 letters, digits, '-', '_', '.'); `what` names the kind in
/// the error ("queue", "dead-letter sink").
caf::error validate_name(std::string_view what, const std::string& name);

struct receive_request {
  uint32_t max = 1;
  int64_t wait_ms = 0;        ///< long-poll time, at most 20 s
  int64_t visibility_ms = -1; ///< -1: the queue's visibility timeout
  /// Answer only once the leases are journaled, so that a message that takes this process
  /// down on every delivery still counts its receives and reaches the dead-letter sink (a
  /// consumer in the node's process). The client endpoint sets false: its consumers run in
  /// other processes and cannot take the node down, and a node crash before the lease is
  /// journaled delivers the message again with the receive count it had: at least once
  /// either way, one fdatasync sooner (docs/benchmarks.md, issue 11).
  bool lease_durable_first = true;
};

struct nack_request {
  std::string receipt;
  int64_t retry_after_ms = -1;    ///< -1: the queue's backoff policy
  std::string dead_letter_reason; ///< non-empty: straight to the dead-letter sink
  std::string error;              ///< consumer's error text, kept for the death record
};

struct ack_outcome {
  std::string receipt;
  std::string error_code; ///< empty: acked
  std::string error_message;
};

/// What became of one message of a batch sent each on its own (node::send_each; SQS
/// SendMessageBatch's Successful and Failed entries).
struct send_result {
  std::string id;         ///< set when accepted (a duplicate: the id it was first sent as)
  std::string error_code; ///< empty: accepted and durable; else why this one was refused
  std::string error_message;
};

struct queue_stats {
  std::string name;
  uint64_t visible = 0;
  uint64_t in_flight = 0;
  uint64_t delayed = 0;
  int64_t oldest_age_ms = 0;
  uint64_t sent = 0;
  uint64_t received = 0;
  uint64_t acked = 0;
  uint64_t dead_lettered = 0;
};

/// One step of a message's story (`mailroom trace`).
struct trace_step {
  std::string id;
  std::string queue;
  std::string kind; ///< sent | redriven | delivered | acked | retried | dead_lettered
  int64_t at_ms = 0;
  uint32_t receive_count = 0;
  std::string detail;         ///< retried: error and next delivery; dead_lettered: reason, sink
  std::string causation_id;   ///< sent/redriven
  std::string correlation_id; ///< sent/redriven
};

struct dead_letter {
  envelope message;
  death_record death;
};

/// A dead letter as a dead-letter queue takes it (by redrive, same id): the message, with its
/// death record as the last of its history.
envelope for_dead_letter_queue(dead_letter d);

/// Every non-empty field must match.
struct redrive_filter {
  std::string reason;
  std::string source;
  std::string attribute_key;
  std::string attribute_value;
  std::string error_contains;

  bool matches(const dead_letter& d) const;
};

struct redrive_request {
  redrive_filter filter;
  std::string to;          ///< empty: back to each message's source queue
  uint32_t rate_per_s = 0; ///< 0: unlimited
  bool dry_run = false;
};

struct redrive_result {
  uint64_t moved = 0; ///< or, on a dry run, would move
  std::vector<std::string> ids;
};

} // namespace mailroom

// These types only travel between actors of one process; across processes they travel as
// Cap'n Proto structs, so CAF never needs to serialize them.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::envelope)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::envelope_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mailroom::outgoing_message>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::delivery)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mailroom::delivery>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::nack_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mailroom::envelope>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::queue_config)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::receive_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mailroom::nack_request>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mailroom::ack_outcome>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mailroom::send_result>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::queue_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mailroom::dead_letter>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::redrive_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::redrive_result)
