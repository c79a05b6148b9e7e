// Transactional consume: see mailroom/transaction.hpp for what it promises. One detached actor
// per service handles its messages in order; it may block (journal reads, waiting for commits),
// since it has a thread of its own.
//
//   receive ─► inbox has the id? ─yes─► ack (the effects committed before a crash)
//                   │ no
//                   ▼
//   handler(tx) ─► stage sends in their queues ─► submit tx statements + staged sends + inbox
//                   │ failure at any step: abort stages, nack with the error
//                   ▼
//   (next message of the batch) ... once all are durable: finish stages ─► ack
//
// Each message is its own journal batch (isolated: a failing statement undoes that message
// only), but a batch of deliveries is submitted without waiting, so they share group commits:
// one fsync for many messages. A handler that reads (tx.query) first waits until the earlier
// messages' effects are applied, so a read still sees every earlier effect.
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

#include <future>
#include <map>
#include <tuple>
#include <unordered_set>

namespace mailroom {

struct transaction::impl {
  node& owner;
  journal& log;
  write_batch writes;
  std::map<std::string, std::vector<outgoing_message>> sends;
  std::function<void()> before_read; ///< waits until earlier messages' effects are applied
};

caf::expected<std::vector<sql_row>> transaction::query(const std::string& sql,
                                                       const std::vector<sql_value>& params) const {
  if (impl_.before_read)
    impl_.before_read();
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

/// The messages of one delivered batch on their way to the journal, in order. The handler has
/// run on each added message; flush() stages their sends, one request per target queue with a
/// part per message, and submits one journal batch per message (isolated: a failing statement
/// undoes that message only) without waiting for the disk, so they share group commits.
class batch_commit {
public:
  explicit batch_commit(self_ptr self) : self_(self) {}

  /// Whether a message with this id was added to this batch already (a producer's re-send
  /// of it, under the same id).
  bool has(const std::string& id) const { return ids_.count(id) > 0; }

  void add(std::string receipt, std::string id, transaction::impl& tx) {
    ids_.insert(id);
    prepared_.push_back(
        {std::move(receipt), std::move(id), std::move(tx.writes), std::move(tx.sends), {}, {}});
  }

  /// Stages and submits what was added, then waits until it is applied (a read sees it).
  void flush() {
    stage_all();
    auto& st = self_->state;
    for (auto& m : prepared_) {
      if (!m.error.empty()) {
        failed_.emplace_back(std::move(m.receipt), std::move(m.id), std::move(m.error));
        continue;
      }
      auto now = unix_now_ms();
      m.writes.put_consumed(st.options.service, m.id, now);
      if (++st.commits % prune_every == 0)
        m.writes.delete_consumed_before(st.options.service, now - st.retention_ms);
      auto durable = std::make_shared<std::promise<caf::error>>();
      auto in_database = std::make_shared<std::promise<caf::error>>();
      submitted_.push_back(
          {std::move(m.receipt), std::move(m.id), std::move(m.staged), durable->get_future()});
      last_applied_ = in_database->get_future().share();
      st.owner->journal_internal().submit(
          std::move(m.writes), [durable](const caf::error& err) { durable->set_value(err); },
          [in_database](const caf::error& err) { in_database->set_value(err); });
    }
    prepared_.clear();
    if (last_applied_.valid())
      last_applied_.wait();
  }

  /// Flushes, waits until every message is durable (or failed) and settles each.
  void settle(consumer::settlement& settlement) {
    flush();
    for (auto& m : submitted_) {
      auto err = m.durable.get();
      if (!err) {
        for (auto& [queue, token] : m.staged)
          caf::anon_send(queue, finish_atom::value, token);
        settlement.ack(m.receipt);
      } else {
        abort(m.staged);
        failed_.emplace_back(std::move(m.receipt), std::move(m.id), message_of(err));
      }
    }
    for (auto& [receipt, id, error] : failed_) {
      spdlog::warn("service '{}': message {} not committed, will retry: {}",
                   self_->state.options.service, id, error);
      settlement.nack(failure_of(receipt, error));
    }
    submitted_.clear();
    failed_.clear();
  }

private:
  using staged_list = std::vector<std::pair<caf::actor, uint64_t>>; ///< (queue, token)

  struct prepared {
    std::string receipt;
    std::string id;
    write_batch writes;
    std::map<std::string, std::vector<outgoing_message>> sends;
    staged_list staged;
    std::string error; ///< why its sends could not be staged: nothing of it commits
  };

  struct submitted {
    std::string receipt;
    std::string id;
    staged_list staged;
    std::future<caf::error> durable;
  };

  static void abort(const staged_list& staged) {
    for (auto& [queue, token] : staged)
      caf::anon_send(queue, abort_atom::value, token);
  }

  /// One stage request per target queue, a part per message; a message with a refused part
  /// gets its error and its other parts aborted.
  void stage_all() {
    std::map<std::string, std::vector<size_t>> senders; // queue → messages sending to it
    for (size_t i = 0; i < prepared_.size(); ++i)
      for (auto& [queue, messages] : prepared_[i].sends)
        senders[queue].push_back(i);
    for (auto& [name, who] : senders) {
      parts_to_stage request;
      for (auto i : who)
        request.parts.push_back(std::move(prepared_[i].sends[name]));
      auto q = self_->state.owner->queue(name);
      auto staged = q ? ask<staged_parts>(self_->state.owner->system(), *q, stage_atom::value,
                                          std::move(request))
                      : caf::expected<staged_parts>{q.error()};
      for (size_t k = 0; k < who.size(); ++k) {
        auto& m = prepared_[who[k]];
        auto& refused = staged ? staged->errors[k] : staged.error();
        if (refused) {
          if (m.error.empty())
            m.error = "send to '" + name + "': " + message_of(refused);
          continue;
        }
        m.staged.emplace_back(*q, staged->parts[k].token);
        m.writes.append(std::move(staged->parts[k].writes));
      }
    }
    for (auto& m : prepared_)
      if (!m.error.empty()) {
        abort(m.staged);
        m.staged.clear();
      }
  }

  self_ptr self_;
  std::unordered_set<std::string> ids_;
  std::vector<prepared> prepared_;
  std::vector<submitted> submitted_;
  std::vector<std::tuple<std::string, std::string, std::string>> failed_; ///< receipt, id, why
  std::shared_future<caf::error> last_applied_; ///< of the last message submitted
};

/// Runs the handler on one message: settles it now (an ack, or a nack), or adds its effects to
/// `commit`, with which it settles once they are durable.
void handle(self_ptr self, const delivery& d, batch_commit& commit, consumer::settlement& settle) {
  auto& st = self->state;
  auto& log = st.owner->journal_internal();
  auto retry = [&](const std::string& why) { settle.nack(failure_of(d.receipt, why)); };
  // The inbox check cannot see a copy earlier in this batch (not applied yet): retry this one
  // after it, when the check will.
  if (commit.has(d.message->id))
    return retry("message " + d.message->id + " is already being handled in this batch");
  auto seen = log.consumed(st.options.service, d.message->id);
  if (!seen)
    return retry(message_of(seen.error()));
  if (*seen)
    return settle.ack(d.receipt); // committed before a crash; only the ack was lost
  transaction::impl state{*st.owner, log, {}, {}, [&commit] { commit.flush(); }};
  transaction tx{state};
  outcome o;
  try {
    o = st.handler(*d.message, d.receive_count, tx);
  } catch (const std::exception& e) {
    return retry(e.what());
  } catch (...) {
    return retry("handler threw a non-standard exception");
  }
  if (auto nack = settlement_of(o, d.receipt))
    return settle.nack(std::move(*nack)); // a retry or a dead letter: no effects commit
  commit.add(d.receipt, d.message->id, state);
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
    consumer::settlement settle{self, self->state.from.queue, batch.size(),
                                consumer::poll_again(self)};
    batch_commit commit{self};
    for (const auto& d : batch)
      handle(self, d, commit, settle);
    commit.settle(settle);
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
