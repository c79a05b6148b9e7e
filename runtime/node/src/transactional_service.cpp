// Transactional consume: see mailroom/transaction.hpp for what it promises. One detached actor
// per service handles its messages one at a time; it may block (journal reads, the commit),
// since it has a thread of its own.
//
//   receive ─► inbox has the id? ─yes─► ack (the effects committed before a crash)
//                   │ no
//                   ▼
//   handler(tx) ─► stage sends in their queues ─► commit tx statements + staged sends + inbox
//                   │ failure at any step: abort stages, nack with the error
//                   ▼
//   finish stages ─► ack
#include "mailroom/transaction.hpp"

#include "ask.hpp"
#include "consumer/queue_consumer.hpp"
#include "handler_outcome.hpp"
#include "journal.hpp"
#include "mailroom/error.hpp"
#include "mailroom/ids.hpp"
#include "mailroom/node.hpp"
#include "mailroom/protocol.hpp"
#include "staging.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <spdlog/spdlog.h>

#include <map>

namespace mailroom {

struct transaction::impl {
  node& owner;
  journal& log;
  write_batch writes;
  std::map<std::string, std::vector<outgoing_message>> sends;
};

caf::expected<std::vector<sql_row>> transaction::query(const std::string& sql,
                                                       const std::vector<sql_value>& params) const {
  return impl_.log.query(sql, params);
}

caf::error transaction::execute(std::string sql, std::vector<sql_value> params) {
  if (auto err = impl_.log.check_statement(sql))
    return err;
  impl_.writes.execute(std::move(sql), std::move(params));
  return {};
}

caf::error transaction::send(const std::string& queue, outgoing_message message) {
  if (auto q = impl_.owner.queue(queue); !q)
    return std::move(q.error());
  impl_.sends[queue].push_back(std::move(message));
  return {};
}

namespace {

/// Inbox entries are pruned every this many commits, once older than the queue's retention
/// (a message cannot be redelivered after it).
constexpr uint64_t prune_every = 1'000;

struct tx_service_state {
  node* owner = nullptr;
  transactional_options options;
  transactional_handler handler;
  consumer::source from;
  int64_t retention_ms = 0;
  uint64_t commits = 0;
  static inline const char* name = "transactional-service";
};

using self_ptr = caf::stateful_actor<tx_service_state>*;

/// Commits the handler's effects with the inbox entry; the error text, or "" when committed.
std::string commit(self_ptr self, const delivery& d, transaction::impl& tx) {
  auto& st = self->state;
  auto& system = st.owner->system();
  std::vector<std::pair<caf::actor, uint64_t>> staged;
  auto abort_all = [&] {
    for (auto& [queue, token] : staged)
      caf::anon_send(queue, abort_atom::value, token);
  };
  auto writes = std::move(tx.writes);
  for (auto& [name, messages] : tx.sends) {
    auto q = st.owner->queue(name);
    auto s = q ? ask<staged_send>(system, *q, stage_atom::value, std::move(messages))
               : caf::expected<staged_send>{q.error()};
    if (!s) {
      abort_all();
      return "send to '" + name + "': " + message_of(s.error());
    }
    staged.emplace_back(*q, s->token);
    writes.append(std::move(s->writes));
  }
  auto now = unix_now_ms();
  writes.put_consumed(st.options.service, d.message->id, now);
  if (++st.commits % prune_every == 0)
    writes.delete_consumed_before(st.options.service, now - st.retention_ms);
  if (auto err = tx.log.write(std::move(writes))) {
    abort_all();
    return message_of(err);
  }
  for (auto& [queue, token] : staged)
    caf::anon_send(queue, finish_atom::value, token);
  return {};
}

/// Handles one message: its effects and inbox entry commit together, or none do. The
/// settlement: std::nullopt to ack it, or the nack.
std::optional<nack_request> handle(self_ptr self, const delivery& d) {
  auto& st = self->state;
  auto& log = st.owner->journal_internal();
  auto seen = log.consumed(st.options.service, d.message->id);
  if (!seen)
    return failure_of(d.receipt, message_of(seen.error()));
  if (*seen)
    return std::nullopt; // committed before a crash; only the ack was lost
  transaction::impl state{*st.owner, log, {}, {}};
  transaction tx{state};
  outcome o;
  try {
    o = st.handler(*d.message, d.receive_count, tx);
  } catch (const std::exception& e) {
    return failure_of(d.receipt, e.what());
  } catch (...) {
    return failure_of(d.receipt, "handler threw a non-standard exception");
  }
  if (auto nack = settlement_of(o, d.receipt))
    return nack; // a retry or a dead letter: no effects commit
  auto error = commit(self, d, state);
  if (error.empty())
    return std::nullopt;
  spdlog::warn("service '{}': message {} not committed, will retry: {}", st.options.service,
               d.message->id, error);
  return failure_of(d.receipt, error);
}

caf::behavior tx_service(self_ptr self, node* owner, transactional_options options,
                         transactional_handler handler, consumer::source from,
                         int64_t retention_ms) {
  auto& st = self->state;
  st.owner = owner;
  st.options = std::move(options);
  st.handler = std::move(handler);
  st.from = std::move(from);
  st.retention_ms = retention_ms;
  return consumer::consume(self, st.from, [self](std::vector<delivery>& batch) {
    // One message at a time, each committed before the next; the batch settles at once.
    consumer::settlement settle{self, self->state.from.queue, batch.size(),
                                consumer::poll_again(self)};
    for (const auto& d : batch)
      settle.settle(d.receipt, handle(self, d));
  });
}

/// What spawn returns: a scheduled actor that owns the detached worker. Handing out the detached
/// actor itself would let a caller's handle keep its thread alive and stall the node's shutdown.
caf::behavior tx_front(caf::event_based_actor* self, node* owner, transactional_options options,
                       transactional_handler handler, consumer::source from, int64_t retention_ms) {
  auto worker = self->spawn<caf::detached + caf::linked>(
      tx_service, owner, std::move(options), std::move(handler), std::move(from), retention_ms);
  return {
      [worker](ok_atom) {}, // nothing to do: it only owns the worker (and quits with it)
  };
}

} // namespace

caf::expected<caf::actor> spawn_transactional_service(node& n, transactional_options options,
                                                      transactional_handler handler) {
  auto bad = [&](const std::string& why) {
    return make_error(errc::invalid_argument, "service '" + options.service + "': " + why);
  };
  if (auto err = validate_name("service", options.service))
    return err;
  if (!handler)
    return bad("no handler");
  if (options.prefetch == 0)
    return bad("prefetch must be at least 1");
  auto q = n.queue(options.queue);
  if (!q)
    return std::move(q.error());
  auto config = n.queue_configuration(options.queue);
  if (!config)
    return std::move(config.error());
  for (const auto& sql : options.schema) {
    if (auto err = n.journal_internal().check_statement(sql))
      return bad("schema: " + message_of(err));
    write_batch setup;
    setup.execute(sql, {});
    if (auto err = n.journal_internal().write(std::move(setup)))
      return bad("schema: " + message_of(err));
  }
  auto retention = config->retention_ms;
  consumer::source from{"service '" + options.service + "'", *q, options.prefetch,
                        options.visibility_ms, n.config().clock};
  auto service = n.system().spawn(tx_front, &n, std::move(options), std::move(handler),
                                  std::move(from), retention);
  n.stop_on_shutdown(service);
  return service;
}

} // namespace mailroom
