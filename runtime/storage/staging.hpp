// Two-phase enqueue: how one actor (a topic, later a router) makes several queues take messages
// in ONE journal transaction, so that a publish reaches every subscriber queue or none.
//
//   coordinator                      queue actor
//   (stage_atom, copies)      ──►    assigns sequence numbers, holds the messages PENDING
//                             ◄──    staged_send{token, ids, writes}   (nothing committed)
//   commits every queue's `writes` (and its own: what the copies share) as one write_batch
//   (finish_atom, token)      ──►    PENDING → ready/delayed             (after the commit)
//   (abort_atom, token)       ──►    forgets the messages                (commit failed, or
//                                                                         another queue refused)
//   (stage_atom, parts_to_stage) ─►  the same for several sends at once, each on its own
//                             ◄──    staged_parts: a staged_send or a refusal per part
// dead-letter sink
//   (adopt_atom, records)     ──►    takes records whose put_dead_letter rows the coordinator
//                                    already committed
//
// Why not ask each queue to commit on its own: the journal may put their writes in different
// transactions, and a crash between them would deliver a publish to some subscribers only.
// These messages never leave the process (write_batch is not serializable on purpose).
#pragma once

#include "journal.hpp"
#include "mailroom/types.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mailroom {

using stage_atom = caf::atom_constant<caf::atom("stage")>;
using finish_atom = caf::atom_constant<caf::atom("finish")>;
using abort_atom = caf::atom_constant<caf::atom("abort")>;
using adopt_atom = caf::atom_constant<caf::atom("adopt")>;

struct staged_send {
  uint64_t token = 0;
  std::vector<std::string> ids;
  write_batch writes; ///< the coordinator commits these; the queue has not
};

/// Messages to stage, such as a topic's copies for one subscriber queue: what the copies share
/// is in `publication` (id 0: nothing shared), which the topic commits with them.
struct copies_to_stage {
  std::vector<outgoing_message> messages;
  publication_ref publication;
};

/// Several sends to stage in one request, each all or none on its own (a transactional service
/// stages each message's sends apart, so that one message's failure aborts its sends only).
struct parts_to_stage {
  std::vector<std::vector<outgoing_message>> parts;
};

/// One result per part, in order: `errors[i]` set if part i was refused (then `parts[i]` is
/// empty and nothing of it is held).
struct staged_parts {
  std::vector<staged_send> parts;
  std::vector<caf::error> errors;
};

} // namespace mailroom

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::staged_send)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::parts_to_stage)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::copies_to_stage)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::staged_parts)
