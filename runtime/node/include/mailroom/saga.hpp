// Services that take part in sagas: they consume their queue's commands and answer each with a
// reply message, which the saga reads as the step's outcome.
//
//   mailroom::spawn_saga_participant(*node, {.queue = "payments"},
//     [&](const mailroom::saga_command& c) {
//       if (c.compensation) return mailroom::step_result::ok();          // refund
//       if (amount_of(c.body) > 1000) return mailroom::step_result::reject("card declined");
//       return mailroom::step_result::ok(R"({"payment_id":"p-1"})");
//     });
//
// A command carries (saga id, step, direction, attempt) as its dedup id, so a service that keeps
// the dedup ids it handled is exactly-once even across its own retries and a node crash. The
// participant answers a batch of commands with one send of replies and acks the commands once
// the replies are durable: a crash in between redelivers the commands, and the replies, sent
// again under the same dedup ids, are not doubled.
#pragma once

#include "mailroom/saga_types.hpp"
#include "mailroom/types.hpp"

#include <caf/actor.hpp>
#include <caf/expected.hpp>

#include <functional>
#include <string>
#include <string_view>

namespace mailroom {

class node;

/// One command as a service sees it.
struct saga_command {
  std::string saga_id;
  std::string step;
  bool compensation = false; ///< undo the step
  uint32_t attempt = 0;
  std::string body;
  const envelope* message = nullptr; ///< the whole message (id, dedup id, attributes)
};

/// What a service answers.
struct step_result {
  enum class kind : uint8_t { ok, failed, rejected };
  kind what = kind::ok;
  std::string
      body; ///< ok: a JSON object merged into the saga's data (may be empty); else the error

  static step_result ok(std::string result = {}) { return {kind::ok, std::move(result)}; }
  /// A failure the saga retries per the step's policy.
  static step_result fail(std::string error) { return {kind::failed, std::move(error)}; }
  /// A failure retrying cannot mend (a declined payment): no more attempts.
  static step_result reject(std::string error) { return {kind::rejected, std::move(error)}; }
};

using participant_fn = std::function<step_result(const saga_command& command)>;

struct participant_options {
  std::string queue;
  uint32_t prefetch = 256;
};

/// Starts a participant on `queue`. The handler runs inside the participant actor: it must not
/// block. A message that is not a saga command is dead-lettered (reason "not_a_saga_command");
/// a handler that throws leaves the command to the queue's retry policy.
caf::expected<caf::actor> spawn_saga_participant(node& n, participant_options options,
                                                 participant_fn handler);

/// Builds the reply message to `command` (for services that send replies themselves).
outgoing_message saga_reply_message(const envelope& command, const step_result& result);

} // namespace mailroom
