// What clients may cost a node's client endpoint ([node] keys in TOML; see docs/operations.md).
#pragma once

#include "mailroom/types.hpp" // max_message_bytes_limit

#include <caf/error.hpp>

#include <cstdint>

namespace mailroom {

/// Largest send, receive or ack batch the endpoint takes in one call.
constexpr uint32_t max_wire_batch = 10'000;

/// What a frame carries besides the bodies and attributes of its messages, per message
/// (envelope fields, ids, list pointers; measured at under 300 bytes).
constexpr uint64_t frame_overhead_per_message = 512;

/// The most max_frame_size may be set to (2 GiB): far above any batch the node takes.
constexpr uint64_t max_frame_bytes_limit = 2ull * 1024 * 1024 * 1024;

struct endpoint_limits {
  /// Connections served at once; one more is closed at accept (and logged once per 10 s).
  uint32_t max_connections = 1024;
  /// A connection with no call in flight and no bytes either way for this long is closed.
  int64_t idle_timeout_ms = 5 * 60'000;
  /// A frame (one request) must arrive whole within this long of its first byte.
  int64_t frame_timeout_ms = 30'000;
  /// Largest frame: one message of the largest size a queue takes, or a full batch of
  /// envelopes, whichever is larger; a larger announced frame closes the connection.
  uint64_t max_frame_bytes =
      max_message_bytes_limit + uint64_t{max_wire_batch} * frame_overhead_per_message;
  /// Bytes that frames announced but not yet received may hold, over all connections; a
  /// frame that does not fit closes its connection.
  uint64_t max_incomplete_frame_bytes = 256ull * 1024 * 1024;
};

/// Refuses limits that cannot work (a zero, a budget smaller than one largest frame), naming the
/// [node] key.
caf::error validate(const endpoint_limits& limits);

} // namespace mailroom
