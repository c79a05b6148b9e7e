// The node's TOML configuration.
//
//   [node]
//   data_dir = "./mailroom-data"
//   listen = "127.0.0.1:7411"
//   http = "127.0.0.1:7480"         # the SQS/SNS-compatible HTTP API; omitted: not served
//   log_level = "info"
//   durable = true                  # false: no fsync (benchmarks only)
//   trace = false                   # true: journal each message's steps for `mailroom trace`
//   max_connections = 1024          # connections served at once by each face (client endpoint,
//                                   # HTTP API); more are closed
//   idle_timeout = "5m"             # a connection with no call in flight and no traffic
//   frame_timeout = "30s"           # a request must arrive whole this soon after its first byte
//   max_frame_size = 72228864       # bytes of one request (64 MiB message + a batch of envelopes)
//   max_incomplete_frames = 268435456  # bytes that half-received requests hold, node-wide
//   min_free_disk = 67108864        # bytes; below it sends are refused, consumers go on
//   queue_cache = 16777216          # bytes of bodies each queue keeps in memory
//   max_memory = 1073741824         # bytes all queues may hold; sends wait above 3/4 of it
//
//   [http]
//   auth = "none"                   # or "sigv4": every request signed with one of the keys
//   keys_file = "access-keys"       # lines "ACCESS_KEY_ID SECRET_ACCESS_KEY" ('#': comment),
//                                   # relative to this file; mailroomd also takes one key from
//                                   # MAILROOM_HTTP_ACCESS_KEY_ID / MAILROOM_HTTP_SECRET_ACCESS_KEY
//   account = "123456789012"        # the account of ARNs and queue URLs (twelve digits)
//
//   [queues.orders]
//   visibility_timeout = "30s"
//   delay = "0s"
//   retention = "4d"
//   max_message_size = 262144       # bytes
//   max_receive_count = 5
//   dead_letter = "orders-dlq"      # sink, created if missing
//   # dead_letter_queue = "orders-q"  # or a queue (SQS's dead-letter queue), not both
//   max_depth = 1000000             # messages held at most; sends past it are refused
//   retry = { base = "1s", factor = 2.0, cap = "5m" }
//   dedup_window = "5m"             # how long a dedup key suppresses re-sends (1s..24h)
//   content_based_dedup = false     # true: messages without a dedup id are keyed by SHA-256(body)
//   fifo = false                    # true: message groups, in order, one in flight per group
//   receive_wait = "0s"             # SQS ReceiveMessageWaitTimeSeconds: the long poll of an
//                                   # HTTP ReceiveMessage without WaitTimeSeconds (0s..20s)
//
//   [topics.order-events]           # subscribed queues must be declared (or exist)
//   [[topics.order-events.subscriptions]]
//   queue = "orders"
//   filter = '{"kind": ["paid"]}'   # SNS filter policy JSON; omitted: every message
//   filter_scope = "attributes"     # or "body": the policy matches JSON body fields
//   raw = false                     # false: SNS notification JSON; true: the body as published
//   dead_letter = "orders-undeliverable"  # sink for copies the queue refuses; omitted: the
//                                         # publish fails instead
//
//   [routers.by-type]               # content-based router; targets must be declared (or exist)
//   mode = "first"                  # "first": the first matching rule; "all": every one
//   default = "queue:misc"          # where a message no rule takes goes; omitted: the sink
//   dead_letter = "by-type-unroutable"    # sink of unroutable messages (this is the default)
//   [[routers.by-type.rules]]
//   match = '{"type": ["order"]}'   # SNS filter policy JSON
//   scope = "attributes"            # or "body"
//   to = "queue:orders"             # or "topic:NAME", "router:NAME"
//
//   [alarms.orders-dlq-depth]       # publishes alerts (and resolves) to a topic, and logs them
//   entity = "sink:orders-dlq"      # or "queue:NAME"
//   metric = "depth"                # sink: depth; queue gauges: visible, in_flight, delayed,
//                                   #   oldest_age_ms; queue counters (their increase over
//                                   #   `window`): sent, received, acked, dead_lettered
//   threshold = 10                  # fires while the metric is above it ...
//   fire_when = "above"             # ... or "below" it ...
//   for = "1m"                      # ... this long; resolves after as long on the other side
//   topic = "alerts"
//   check_every = "1s"
//   window = "1m"                   # counters only
//
// Unknown keys are errors: a typo must not silently fall back to a default.
#pragma once

#include "mailroom/node.hpp"

#include <caf/expected.hpp>

#include <map>
#include <string>
#include <string_view>

namespace mailroom {

/// Parses TOML text; `source` names it in errors ("cluster.toml", "<embedded>").
caf::expected<node_config> parse_config(std::string_view text, std::string_view source);

/// Reads and parses a file.
caf::expected<node_config> load_config(const std::string& path);

/// Reads an access keys file: one "ACCESS_KEY_ID SECRET_ACCESS_KEY" per line, blank lines and
/// '#' comments skipped. The error names the file and the line.
caf::expected<std::map<std::string, std::string>> read_access_keys(const std::string& path);

/// Adds the key in MAILROOM_HTTP_ACCESS_KEY_ID and MAILROOM_HTTP_SECRET_ACCESS_KEY, if set (both
/// or neither: one alone is an error naming the other).
caf::error add_access_key_from_environment(http_auth_config& auth);

} // namespace mailroom
