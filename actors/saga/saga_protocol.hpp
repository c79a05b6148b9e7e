// Messages between a saga manager and its instance actors (never leave the process).
//
// node -> manager
//   (start_atom, id, data, idempotency key)  -> id, once the instance is journaled
//   (start_atom, vector<id>, vector<data>)   -> the ids, once every instance is journaled
//   (the data arrives parsed: the node checked that it is a JSON object)
//   (cancel_atom, id)                             -> ok_atom, once durable
//   (stats_atom)                                  -> saga_metrics
//   (config_atom, saga_definition)                -> ok_atom (another version)
// manager -> instance, each carrying a request number as its last element and answered with
//   (progress_atom, request, error, saga_progress) once the transition is durable; the answer
//   comes from the journal's sync thread, so an instance's answers keep the order of its inputs:
//   (begin_atom)            a new instance sends its first command
//   (recover_atom)          after a restart: the command waiting for a reply is sent again
//   (reply_atom, saga_reply)
//   (tick_atom)             its wake time has come (a timeout or a retry)
//   (sent_atom, activity, attempt, error)   its queue refused a command: a failed attempt
//   (cancel_atom) / (resume_atom)   refused with an error when the state does not allow it
// manager -> instance, not answered:
//   (sent_atom, activity, attempt, message id)   the id the queue answered for a command, when
//                                                it differs from the one it was sent with
#pragma once

#include "saga/saga_state.hpp"
#include "mailroom/saga_types.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

namespace mailroom {

using begin_atom = caf::atom_constant<caf::atom("begin")>;
using recover_atom = caf::atom_constant<caf::atom("recover")>;
using reply_atom = caf::atom_constant<caf::atom("reply")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using sent_atom = caf::atom_constant<caf::atom("sent")>;
using progress_atom = caf::atom_constant<caf::atom("progress")>;

/// What the manager needs to know after each transition.
struct saga_progress {
  saga_status status = saga_status::running;
  int64_t wake_at_ms = 0;       ///< 0: no timer
  int64_t step_latency_ms = -1; ///< a step or compensation just succeeded this long after sending
  uint32_t compensations_sent = 0;
  /// Commands the transition asked for, durable in the instance's row: the manager sends them,
  /// those of many instances to one queue in one send.
  std::vector<saga_state::command> commands;
};

} // namespace mailroom

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nlohmann::json)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<nlohmann::json>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::saga_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::saga_progress)
