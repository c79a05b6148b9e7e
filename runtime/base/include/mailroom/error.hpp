// Error values crossing actor and API boundaries.
//
// Every failure a caller can act on is a caf::error in the "mailroom" category whose code is an
// errc and whose context holds one std::string: the human-readable reason, naming the input
// (e.g. "queue 'orders': visibility timeout 'banana' is not a duration (e.g. 30s, 500ms)").
// Why caf::error and not exceptions: handlers run inside actors, where an exception would kill
// the actor; an error value travels back to the requester like any other reply.
#pragma once

#include <caf/error.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailroom {

enum class errc : uint8_t {
  /// No queue by that name (SQS's QueueDoesNotExist).
  unknown_queue = 1,
  /// A queue with that name exists already with another configuration.
  already_exists,
  /// Malformed or out-of-range input: durations, sizes, counts, names, TOML.
  invalid_argument,
  /// Body plus attributes exceed the queue's max message size.
  message_too_large,
  /// The receipt was never issued or names a message that is gone (acked, purged, moved).
  unknown_receipt,
  /// The receipt's lease ended; the message may since have been delivered again.
  receipt_expired,
  /// The journal could not read or write its database.
  io_error,
  /// The journal holds bytes that do not decode.
  corruption,
  /// The node is shutting down or cannot be reached.
  unavailable,
  /// The queue holds its max depth of messages; retry the send later.
  queue_full,
  /// The node's disk is below its free-space watermark (or full): sends are refused until
  /// space is freed; receives, acks and purges go on.
  disk_full,
  /// Nothing by that name of another kind: no topic, router, alarm, dead-letter sink, saga
  /// (definition, version, instance) or trace; or a queue not subscribed to a topic.
  not_found,
  /// The node holds its memory budget ([node] max_memory) in queued messages and sends waiting
  /// for room: sends are refused until consumers drain; receives, acks and purges go on.
  memory_full,
};

/// Name used on the wire and in the CLI's messages ("unknown_queue", ...).
std::string_view to_string(errc code);
std::optional<errc> errc_from_string(std::string_view name);

/// Builds an error in the mailroom category.
caf::error make_error(errc code, std::string message);

/// The errc of a mailroom error; errc::unavailable for errors of other categories; errc{0}
/// (no code) for no error.
errc code_of(const caf::error& err);

/// The reason text of a mailroom error, or CAF's rendering of a foreign one.
std::string message_of(const caf::error& err);

} // namespace mailroom
