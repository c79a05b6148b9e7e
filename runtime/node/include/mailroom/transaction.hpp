// Exactly-once processing for services in an embedded node ("transactional consume").
//
//   mailroom::transactional_options o;
//   o.service = "ledger";                   // names its inbox: keep it stable across restarts
//   o.queue = "payments";
//   o.schema = {"CREATE TABLE IF NOT EXISTS balances(account TEXT PRIMARY KEY, cents INTEGER)"};
//   mailroom::spawn_transactional_service(node, o,
//     [](const mailroom::envelope& m, uint32_t, mailroom::transaction& tx) {
//       tx.execute("INSERT INTO balances VALUES(?1, ?2) "
//                  "ON CONFLICT(account) DO UPDATE SET cents = cents + ?2", {account, cents});
//       tx.send("receipts", {.body = "paid " + m.id});
//       return mailroom::outcome::ack();
//     });
//
// What is promised: the handler's statements (on its own tables in the node's SQLite database),
// the messages it sends, and an inbox entry (service, message id) commit in ONE journal
// transaction; only then is the message acked. A crash before that commit leaves none of it,
// so the redelivered message is handled again from the same state. A crash after the commit and
// before the ack redelivers a message whose inbox entry exists: it is acked without running the
// handler. Either way each effect is applied exactly once. If the commit fails (a statement
// breaks a constraint, a target queue refuses a message), nothing of it applies and the message
// is retried under the queue's policy with that error.
//
// Messages are handled one at a time, in order; the effects of one delivered batch (`prefetch`)
// commit in one journal transaction, and if that fails, each message's in its own, so that one
// failing message does not hold back the others. A read (query) first waits for the earlier
// messages' effects to be applied, so it sees every earlier effect.
// Statements may not touch the journal's own tables, control transactions, ATTACH or PRAGMA.
#pragma once

#include "mailroom/service.hpp"
#include "mailroom/sql_value.hpp"
#include "mailroom/types.hpp"

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <variant>
#include <vector>

namespace mailroom {

class node;

/// What a transactional handler changes. Valid only during the handler call.
class transaction {
public:
  struct impl;
  explicit transaction(impl& state) : impl_(state) {}

  /// Reads committed state (every earlier message's effects). Read-only statements only.
  caf::expected<std::vector<sql_row>> query(const std::string& sql,
                                            const std::vector<sql_value>& params = {}) const;
  /// Queues a write to the service's own tables; checked now (it compiles, it is allowed),
  /// applied in the commit. One statement per call.
  caf::error execute(std::string sql, std::vector<sql_value> params = {});
  /// Queues a message for a queue of this node, enqueued in the commit. Error: unknown queue.
  caf::error send(const std::string& queue, outgoing_message message);

private:
  impl& impl_;
};

using transactional_handler =
    std::function<outcome(const envelope& message, uint32_t receive_count, transaction& tx)>;

struct transactional_options {
  std::string service;             ///< names the inbox; the same name across restarts
  std::string queue;               ///< consumed queue
  std::vector<std::string> schema; ///< statements run once at start (CREATE TABLE IF NOT EXISTS)
  uint32_t prefetch = 16;          ///< messages leased per receive (handled one by one)
  int64_t visibility_ms = -1;      ///< lease per delivery; -1: the queue's timeout
};

/// Starts a transactional service. Runs until sent an exit message or the node shuts down.
/// Errors: unknown queue, empty service name, no handler, a schema statement that fails.
caf::expected<caf::actor> spawn_transactional_service(node& n, transactional_options options,
                                                      transactional_handler handler);

} // namespace mailroom
