// Transactional consume: see mailroom/transaction.hpp for what it promises. One detached actor
// per service handles its messages in order; it may block (journal reads, waiting for commits),
// since it has a thread of its own.
//
//   receive ─► inbox has the id? ─yes─► ack (the effects committed before a crash)
//                   │ no
//                   ▼
//   handler(tx) ─► (next message of the batch) ...
//                   ▼
//   the batch's statements + one staged send per target queue + inbox entries: ONE journal batch
//                   │ refused (a statement, a queue): nothing applied; again one journal batch
//                   │ per message, so that only the failing one is nacked with its error
//                   ▼
//   once durable: finish stages ─► ack
//
// One journal batch for a delivered batch is what makes the service fast: a staged send per
// message was a segment row to write and later delete per message, and a savepoint each. A
// handler that reads (tx.query) first commits what the batch has so far and waits until it is
// applied, so a read still sees every earlier effect.
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
#include <optional>
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
/// run on each added message; flush() commits them as ONE journal batch: every message's
/// statements and inbox entry, and one staged send per target queue holding all their messages.
/// If that batch is refused (a statement breaks a constraint, a queue refuses a send), nothing of
/// it applies and the messages go again one journal batch each (isolated: a failing statement
/// undoes that message only), submitted without waiting for the disk, so they share group
/// commits.
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

  /// Commits what was added and waits until it is applied (a read sees it).
  void flush() {
    if (prepared_.empty())
      return;
    if (!commit_together())
      commit_apart();
    prepared_.clear();
  }

  /// Flushes, waits until every message is durable (or failed) and settles each.
  void settle(consumer::settlement& settlement) {
    flush();
    for (auto& unit : submitted_) {
      auto err = unit.durable.get();
      if (!err) {
        for (auto& [queue, token] : unit.staged)
          caf::anon_send(queue, finish_atom::value, token);
        for (auto& m : unit.messages)
          settlement.ack(m.receipt);
      } else {
        abort(unit.staged);
        for (auto& m : unit.messages)
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
  using sends_by_queue = std::map<std::string, std::vector<outgoing_message>>;

  struct prepared {
    std::string receipt;
    std::string id;
    write_batch writes;
    sends_by_queue sends;
    staged_list staged;
    std::string error; ///< why its sends could not be staged: nothing of it commits
  };

  struct message_ref {
    std::string receipt;
    std::string id;
  };

  /// Messages that commit together: settled together once `durable` answers.
  struct submitted {
    std::vector<message_ref> messages;
    staged_list staged;
    std::future<caf::error> durable;
  };

  static void abort(const staged_list& staged) {
    for (auto& [queue, token] : staged)
      caf::anon_send(queue, abort_atom::value, token);
  }

  /// What one stage request to a queue answered: a token or a refusal per part, in order.
  struct staged_at {
    caf::actor queue;
    std::vector<caf::expected<staged_send>> parts;
  };

  staged_at stage(const std::string& name, std::vector<std::vector<outgoing_message>> parts) {
    auto count = parts.size();
    auto q = self_->state.owner->queue(name);
    auto staged = q ? ask<staged_parts>(self_->state.owner->system(), *q, stage_atom::value,
                                        parts_to_stage{std::move(parts)})
                    : caf::expected<staged_parts>{q.error()};
    staged_at out{q ? *q : caf::actor{}, {}};
    for (size_t k = 0; k < count; ++k)
      if (!staged)
        out.parts.emplace_back(staged.error());
      else if (staged->errors[k])
        out.parts.emplace_back(std::move(staged->errors[k]));
      else
        out.parts.emplace_back(std::move(staged->parts[k]));
    return out;
  }

  /// The inbox entries of `messages`, and now and then the pruning of old ones.
  void add_inbox_entries(write_batch& writes, const std::vector<message_ref>& messages) {
    auto& st = self_->state;
    auto now = unix_now_ms();
    for (auto& m : messages)
      writes.put_consumed(st.options.service, m.id, now);
    auto before = st.commits;
    st.commits += messages.size();
    if (before / prune_every != st.commits / prune_every)
      writes.delete_consumed_before(st.options.service, now - st.retention_ms);
  }

  /// Submits `writes`; the future answers once they are durable (or failed).
  std::future<caf::error> submit(write_batch writes,
                                 std::shared_ptr<std::promise<caf::error>> in_database) {
    auto durable = std::make_shared<std::promise<caf::error>>();
    auto answer = durable->get_future();
    auto applied = [in_database](const caf::error& err) {
      if (in_database)
        in_database->set_value(err);
    };
    self_->state.owner->journal_internal().submit(
        std::move(writes), [durable](const caf::error& err) { durable->set_value(err); }, applied);
    return answer;
  }

  /// Every added message in one journal batch; false if that was refused (nothing of it
  /// applied, nothing is held).
  bool commit_together() {
    if (prepared_.size() == 1)
      return false; // the same as apart
    write_batch writes;
    sends_by_queue sends;
    std::vector<message_ref> messages;
    for (const auto& m : prepared_) {
      auto copy = m.writes; // the originals stay for commit_apart
      writes.append(std::move(copy));
      for (const auto& [queue, outgoing] : m.sends) {
        auto& to = sends[queue];
        to.insert(to.end(), outgoing.begin(), outgoing.end());
      }
      messages.push_back({m.receipt, m.id});
    }
    staged_list staged;
    for (auto& [name, outgoing] : sends) {
      std::vector<std::vector<outgoing_message>> one_part;
      one_part.push_back(std::move(outgoing));
      auto answer = stage(name, std::move(one_part));
      auto& part = answer.parts.front();
      if (!part) {
        abort(staged);
        return false;
      }
      staged.emplace_back(answer.queue, part->token);
      writes.append(std::move(part->writes));
    }
    add_inbox_entries(writes, messages);
    auto in_database = std::make_shared<std::promise<caf::error>>();
    auto applied = in_database->get_future();
    auto durable = submit(std::move(writes), in_database);
    if (applied.get()) {
      abort(staged);
      return false;
    }
    submitted_.push_back({std::move(messages), std::move(staged), std::move(durable)});
    return true;
  }

  /// Each added message in its own journal batch, all submitted before waiting until the last
  /// is applied (the journal applies them in order).
  void commit_apart() {
    stage_apart();
    auto in_database = std::make_shared<std::promise<caf::error>>();
    auto applied = in_database->get_future();
    std::optional<size_t> last;
    for (size_t i = 0; i < prepared_.size(); ++i)
      if (prepared_[i].error.empty())
        last = i;
    for (size_t i = 0; i < prepared_.size(); ++i) {
      auto& m = prepared_[i];
      if (!m.error.empty()) {
        failed_.emplace_back(std::move(m.receipt), std::move(m.id), std::move(m.error));
        continue;
      }
      std::vector<message_ref> messages{{std::move(m.receipt), std::move(m.id)}};
      add_inbox_entries(m.writes, messages);
      auto durable = submit(std::move(m.writes), i == last ? in_database : nullptr);
      submitted_.push_back({std::move(messages), std::move(m.staged), std::move(durable)});
    }
    if (last)
      applied.wait();
  }

  /// One stage request per target queue, a part per message; a message with a refused part
  /// gets its error and its other parts aborted.
  void stage_apart() {
    std::map<std::string, std::vector<size_t>> senders; // queue → messages sending to it
    for (size_t i = 0; i < prepared_.size(); ++i)
      for (auto& [queue, messages] : prepared_[i].sends)
        senders[queue].push_back(i);
    for (auto& [name, who] : senders) {
      std::vector<std::vector<outgoing_message>> parts;
      for (auto i : who)
        parts.push_back(std::move(prepared_[i].sends[name]));
      auto answer = stage(name, std::move(parts));
      for (size_t k = 0; k < who.size(); ++k) {
        auto& m = prepared_[who[k]];
        auto& part = answer.parts[k];
        if (!part) {
          if (m.error.empty())
            m.error = "send to '" + name + "': " + message_of(part.error());
          continue;
        }
        m.staged.emplace_back(answer.queue, part->token);
        m.writes.append(std::move(part->writes));
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
