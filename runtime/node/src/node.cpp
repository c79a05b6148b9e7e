#include "mailroom/node.hpp"

#include "dead_letter/dead_letter_actor.hpp"
#include "message_move/message_mover_actor.hpp"
#include "queue/queue_actor.hpp"
#include "ask.hpp"
#include "entity_catalog.hpp"
#include "codec.hpp"
#include "journal.hpp"
#include "mailroom/error.hpp"
#include "mailroom/logging.hpp"
#include "mailroom/protocol.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace mailroom {

namespace {

using tables = entity_catalog::tables;

constexpr const char* queue_kind = "queue";
constexpr const char* sink_kind = "sink";

/// Only a missing queue is unknown_queue (what SQS clients map to QueueDoesNotExist).
caf::error unknown(const char* what, const std::string& name) {
  auto code = std::string_view{what} == "queue" ? errc::unknown_queue : errc::not_found;
  return make_error(code, std::string{"no "} + what + " named '" + name + "'");
}

/// Names the entity whose journal record failed to decode: "queue 'orders': segment: ...".
caf::error in_entity(const char* what, const std::string& name, const caf::error& err) {
  return make_error(code_of(err), std::string{what} + " '" + name + "': " + message_of(err));
}

} // namespace

node::node(node_config config)
    : config_(std::move(config)), registry_(std::make_shared<registry>()),
      memory_(std::make_shared<memory_budget>(config_.max_memory_bytes)),
      catalog_(std::make_unique<entity_catalog>()) {}

caf::expected<std::unique_ptr<node>> node::open(node_config config) {
  if (auto err = set_log_level(config.log_level))
    return err;
  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec)
    return make_error(errc::io_error, "data directory '" + config.data_dir + "': " + ec.message());
  for (const auto& q : config.queues)
    if (auto err = validate(q))
      return err;
  if (auto err = check_memory_limit(config.max_memory_bytes))
    return err;
  std::unique_ptr<node> n{new node(std::move(config))};
  auto j = journal::open({n->config_.data_dir + "/journal.db", n->config_.durable,
                          n->config_.min_free_disk_bytes, n->config_.storage});
  if (!j)
    return std::move(j.error());
  n->journal_ = std::move(*j);
  n->system_config_ = std::make_unique<caf::actor_system_config>();
  // One shared job queue instead of work stealing: on the 2-core machines we target, idle
  // stealing workers spin and sleep-poll, and measured 20-30% slower (docs/benchmarks.md).
  n->system_config_->set("scheduler.policy", caf::atom("sharing"));
  // One per core, as node_config documents: CAF's own default is at least 4, and on 2 cores the
  // extra threads only contended (saga bench 5.5k -> 6.3k/s, queue 485k -> 547k msgs/s).
  auto threads = n->config_.worker_threads > 0
                     ? n->config_.worker_threads
                     : std::max<size_t>(1, std::thread::hardware_concurrency());
  n->system_config_->set("scheduler.max-threads", threads);
  n->system_ = std::make_unique<caf::actor_system>(*n->system_config_);
  if (auto err = n->recover())
    return err;
  n->mover_ = spawn_message_mover(*n->system_, {n->registry_, n->config_.clock});
  n->stop_on_shutdown(n->mover_);
  if (auto err = n->recover_topics())
    return err;
  if (auto err = n->recover_routers())
    return err;
  if (auto err = n->recover_alarms())
    return err;
  if (auto err = n->recover_sagas())
    return err;
  auto declared = [&n](caf::error err) {
    const auto& file = n->config_.declared_in;
    return file.empty() ? err : make_error(code_of(err), file + ": " + message_of(err));
  };
  for (const auto& q : n->config_.queues)
    if (auto err = n->put_queue(q))
      return declared(err);
  for (const auto& t : n->config_.topics)
    if (auto err = n->put_topic(t))
      return declared(err);
  for (const auto& r : n->config_.routers)
    if (auto err = n->put_router(r))
      return declared(err);
  for (const auto& a : n->config_.alarms)
    if (auto err = n->put_alarm(a))
      return declared(err);
  for (const auto& d : n->config_.sagas)
    if (auto err = n->put_saga(d))
      return declared(err);
  return n;
}

void node::stop_on_shutdown(caf::actor actor) {
  std::lock_guard<std::mutex> guard{services_mutex_};
  services_.push_back(std::move(actor));
}

node::~node() {
  if (system_) {
    {
      std::lock_guard<std::mutex> guard{services_mutex_};
      for (auto& a : services_)
        caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
      // Drop our handles: a detached actor's thread ends only once nothing refers to it.
      services_.clear();
    }
    for (auto& a : registry_->all())
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    system_->await_all_actors_done();
  }
  system_.reset();
  journal_.reset(); // commits what is still queued
}

caf::expected<std::vector<sql_row>> node::query(const std::string& sql,
                                                const std::vector<sql_value>& params) {
  return journal_->query(sql, params);
}

caf::actor_system& node::system() {
  return *system_;
}

caf::actor node::spawn_queue_actor(queue_state state) {
  state.enable_trace(config_.trace);
  state.keep_bodies_in_journal(
      [j = journal_.get(), queue = state.name()](
          uint64_t first_seq, const std::function<bool(uint64_t, std::vector<envelope>)>& visit) {
        caf::error decoding;
        auto err = j->read_segments_from(
            queue, first_seq, [&](uint64_t first, std::string_view blob, std::string_view shared) {
              auto batch = codec::decode_segment(blob, shared);
              if (!batch)
                decoding = in_entity("queue", queue, batch.error());
              return batch && visit(first, std::move(*batch));
            });
        return decoding ? decoding : err;
      },
      config_.queue_cache_bytes);
  return spawn_queue(*system_, std::move(state),
                     {journal_.get(), registry_, config_.clock, memory_});
}

caf::error node::recover() {
  size_t sinks = 0, queues = 0, dead = 0;
  // What a deleted queue's actor committed after its deletion (or a crash between the two left)
  // belongs to no queue: it would stay until a queue of that name came back, and keep the
  // publications its segments name.
  write_batch orphans;
  orphans.delete_orphaned_queue_data(queue_kind);
  auto err = journal_->write(std::move(orphans));
  if (err)
    return err;
  err = journal_->read_catalog(
      sink_kind, [&](const std::string& name, uint64_t, const std::string&) -> caf::error {
        dead_letter_state state{name};
        auto e = journal_->read_dead_letters(
            name, [&](const std::string&, uint64_t, const std::string& blob) -> caf::error {
              auto record = codec::decode_dead_letter(blob);
              if (!record)
                return in_entity("dead-letter sink", name, record.error());
              state.restore(std::move(*record));
              ++dead;
              return {};
            });
        if (e)
          return e;
        registry_->put(entity_kind::dead_letter_sink, name,
                       spawn_dead_letter_sink(*system_, std::move(state),
                                              {journal_.get(), registry_, config_.clock}));
        ++sinks;
        return {};
      });
  if (err)
    return err;
  // Read before the queue scan: a nested scan of the catalog would reuse its statement.
  std::map<std::string, uint64_t> sequence_floors;
  err = journal_->read_catalog(sequence_catalog_kind,
                               [&](const std::string& queue, uint64_t, const std::string& floor) {
                                 sequence_floors[queue] = std::strtoull(floor.c_str(), nullptr, 10);
                                 return caf::error{};
                               });
  if (err)
    return err;
  size_t messages = 0;
  err = journal_->read_catalog(
      queue_kind, [&](const std::string& name, uint64_t, const std::string& blob) -> caf::error {
        auto config = codec::decode_queue_config(blob);
        if (!config)
          return in_entity("queue", name, config.error());
        queue_state state{*config};
        // The bodies stay in the journal: an index row per segment is enough, except for FIFO
        // queues (their group ids are in the bodies) and segments of journal format 1.
        auto whole = [&](uint64_t first_seq, std::string_view segment,
                         std::string_view shared) -> caf::error {
          auto batch = codec::decode_segment(segment, shared);
          if (!batch)
            return in_entity("queue", name, batch.error());
          messages += batch->size();
          return state.restore_segment(first_seq, std::move(*batch));
        };
        // Reads segments whole from `first_seq` on, all of them or only the first.
        auto read_whole = [&](uint64_t first_seq, bool all) {
          caf::error result;
          auto e = journal_->read_segments_from(
              name, first_seq, [&](uint64_t first, std::string_view blob, std::string_view shared) {
                result = whole(first, blob, shared);
                return all && !result;
              });
          return result ? result : e;
        };
        auto e = config->fifo
                     ? read_whole(0, true)
                     : journal_->read_segment_index(name,
                                                    [&](uint64_t first_seq, uint32_t count,
                                                        int64_t enqueued_at_ms) -> caf::error {
                                                      if (count == 0) // format 1: read it whole
                                                        return read_whole(first_seq, false);
                                                      messages += count;
                                                      return state.restore_segment_index(
                                                          first_seq, count, enqueued_at_ms);
                                                    });
        if (e)
          return e;
        e = journal_->read_events(
            name,
            [&](const std::string&, uint64_t first_seq, const std::string& events) -> caf::error {
              auto decoded = codec::decode_events(events);
              if (!decoded)
                return in_entity("queue", name, decoded.error());
              state.restore_events(first_seq, *decoded);
              return {};
            });
        if (e)
          return e;
        e = journal_->read_dedup(
            name,
            [&](const std::string&, uint64_t first_seq, const std::string& blob) -> caf::error {
              auto records = codec::decode_dedup(blob);
              if (!records)
                return in_entity("queue", name, records.error());
              state.restore_dedup(first_seq, std::move(*records));
              return {};
            });
        if (e)
          return e;
        if (auto it = sequence_floors.find(name); it != sequence_floors.end())
          state.restore_sequence_floor(it->second);
        state.finish_restore(config_.clock->now_ms());
        catalog_->record(&tables::queues, *config);
        registry_->put(entity_kind::queue, name, spawn_queue_actor(std::move(state)));
        ++queues;
        return {};
      });
  if (err)
    return err;
  spdlog::info("recovered {} queue(s) with {} stored message(s) and {} sink(s) with {} dead "
               "letter(s) from {}",
               queues, messages, sinks, dead, config_.data_dir);
  return {};
}

caf::error node::commit_entity(entity_kind kind, const std::string& name, write_batch writes,
                               const std::function<caf::error(const caf::actor&)>& reconfigure,
                               const std::function<caf::actor()>& spawn) {
  if (auto err = journal_->write(std::move(writes)))
    return err;
  if (auto running = registry_->find(kind, name))
    return reconfigure(*running);
  registry_->put(kind, name, spawn());
  return {};
}

caf::error node::remove_entity(entity_kind kind, const std::string& name, write_batch writes) {
  if (auto err = journal_->write(std::move(writes)))
    return err;
  if (auto actor = registry_->find(kind, name)) {
    registry_->erase(kind, name);
    caf::anon_send_exit(*actor, caf::exit_reason::user_shutdown);
  }
  return {};
}

caf::error node::create_dead_letter_sink(const std::string& name) {
  if (auto err = validate_name("dead-letter sink", name))
    return err;
  // Claimed before the check: two creates that both found no sink spawned two actors, and the
  // registry kept only the second.
  auto claim = catalog_->acquire(entity_kind::dead_letter_sink, name);
  if (registry_->find(entity_kind::dead_letter_sink, name))
    return {};
  write_batch writes;
  writes.put_catalog(sink_kind, name, {});
  auto err = commit_entity(
      entity_kind::dead_letter_sink, name, std::move(writes),
      [](const caf::actor&) { return caf::error{}; },
      [&] {
        return spawn_dead_letter_sink(*system_, dead_letter_state{name},
                                      {journal_.get(), registry_, config_.clock});
      });
  if (!err)
    spdlog::info("dead-letter sink '{}' created", name);
  return err;
}

caf::error node::create_queue(const queue_config& config) {
  return change_queue(config, true);
}

caf::error node::put_queue(const queue_config& config) {
  return change_queue(config, false);
}

caf::error node::change_queue(const queue_config& config, bool create_only) {
  if (auto err = validate(config))
    return err;
  auto claim = catalog_->acquire(entity_kind::queue, config.name);
  auto existing = catalog_->find(&tables::queues, config.name);
  if (existing && *existing == config)
    return {};
  if (existing && create_only)
    return make_error(errc::already_exists,
                      "queue '" + config.name + "' exists with another configuration");
  if (existing && existing->fifo != config.fifo)
    return make_error(errc::invalid_argument, "queue '" + config.name +
                                                  "': a queue cannot change between standard and "
                                                  "FIFO; create another queue");
  // Only now, so that a refused change leaves no sink behind (claims nest queue, then sink).
  if (!config.dead_letter_target.empty())
    if (auto err = create_dead_letter_sink(config.dead_letter_target))
      return err;
  write_batch writes;
  if (!existing) {
    // A deleted queue's actor may have committed a last write after the deletion; a new queue
    // of the same name must not inherit it at the next recovery.
    writes.delete_queue_data(config.name);
  }
  writes.put_catalog(queue_kind, config.name, codec::encode_queue_config(config));
  auto err = commit_entity(entity_kind::queue, config.name, std::move(writes),
                           reconfigure_with(*system_, config),
                           [&] { return spawn_queue_actor(queue_state{config}); });
  if (err)
    return err;
  spdlog::info("queue '{}' {}", config.name, existing ? "reconfigured" : "created");
  catalog_->record(&tables::queues, config);
  return {};
}

caf::error node::delete_queue(const std::string& name) {
  auto claim = catalog_->acquire(entity_kind::queue, name);
  // Gone from the table first: a subscription checked from now on finds no queue, and one
  // checked before has claimed its topic, which unsubscribe_everywhere then waits for.
  auto config = catalog_->forget(&tables::queues, name);
  if (!config)
    return unknown("queue", name);
  write_batch writes;
  writes.delete_catalog(queue_kind, name);
  writes.delete_catalog(sequence_catalog_kind, name);
  writes.delete_queue_data(name);
  caf::error err = unsubscribe_everywhere(name);
  if (!err)
    err = remove_entity(entity_kind::queue, name, std::move(writes));
  if (err) { // still there: put it back
    catalog_->record(&tables::queues, std::move(*config));
    return err;
  }
  spdlog::info("queue '{}' deleted", name);
  return {};
}

caf::expected<caf::actor> node::queue(const std::string& name) const {
  if (auto a = registry_->find(entity_kind::queue, name))
    return *a;
  return unknown("queue", name);
}

caf::expected<caf::actor> node::dead_letter_sink(const std::string& name) const {
  if (auto a = registry_->find(entity_kind::dead_letter_sink, name))
    return *a;
  return unknown("dead-letter sink", name);
}

caf::expected<queue_config> node::queue_configuration(const std::string& name) {
  if (auto config = catalog_->find(&tables::queues, name))
    return std::move(*config);
  return unknown("queue", name);
}

std::vector<std::string> node::queue_names() const {
  return registry_->names(entity_kind::queue);
}

std::vector<std::string> node::dead_letter_sink_names() const {
  return registry_->names(entity_kind::dead_letter_sink);
}

caf::expected<std::vector<std::string>> node::send(const std::string& name,
                                                   const std::vector<outgoing_message>& messages) {
  auto q = queue(name);
  if (!q)
    return std::move(q.error());
  return ask<std::vector<std::string>>(*system_, *q, send_atom::value, messages);
}

caf::expected<std::vector<send_result>>
node::send_each(const std::string& name, const std::vector<outgoing_message>& messages) {
  auto q = queue(name);
  if (!q)
    return std::move(q.error());
  return ask<std::vector<send_result>>(*system_, *q, send_each_atom::value, messages);
}

caf::expected<std::vector<delivery>> node::receive(const std::string& name,
                                                   const receive_request& request) {
  auto q = queue(name);
  if (!q)
    return std::move(q.error());
  return ask<std::vector<delivery>>(*system_, *q, receive_atom::value, request);
}

caf::expected<std::vector<ack_outcome>> node::ack(const std::string& name,
                                                  const std::vector<std::string>& receipts) {
  auto q = queue(name);
  if (!q)
    return std::move(q.error());
  return ask<std::vector<ack_outcome>>(*system_, *q, ack_atom::value, receipts);
}

caf::expected<std::vector<ack_outcome>> node::nack(const std::string& name,
                                                   const std::vector<nack_request>& requests) {
  auto q = queue(name);
  if (!q)
    return std::move(q.error());
  return ask<std::vector<ack_outcome>>(*system_, *q, nack_atom::value, requests);
}

caf::error node::change_visibility(const std::string& name, const std::string& receipt,
                                   int64_t visibility_ms) {
  auto q = queue(name);
  if (!q)
    return std::move(q.error());
  auto r = ask<ok_atom>(*system_, *q, visibility_atom::value, receipt, visibility_ms);
  return r ? caf::error{} : std::move(r.error());
}

caf::expected<queue_stats> node::stats(const std::string& name) {
  auto q = queue(name);
  if (!q)
    return std::move(q.error());
  return ask<queue_stats>(*system_, *q, stats_atom::value);
}

caf::expected<uint64_t> node::dead_letter_depth(const std::string& sink) {
  auto s = dead_letter_sink(sink);
  if (!s)
    return std::move(s.error());
  return ask<uint64_t>(*system_, *s, stats_atom::value);
}

std::vector<std::string> node::dead_letter_sources(const std::string& queue) {
  std::vector<std::string> sources;
  for (const auto& name : queue_names())
    if (auto config = queue_configuration(name); config && config->dead_letter_queue == queue)
      sources.push_back(name);
  std::sort(sources.begin(), sources.end());
  return sources;
}

caf::error node::check(const message_move_request& request) {
  if (!registry_->find(entity_kind::queue, request.source))
    return unknown("queue", request.source);
  if (dead_letter_sources(request.source).empty())
    return make_error(errc::invalid_argument, "queue '" + request.source +
                                                  "' is no queue's dead-letter queue: only a "
                                                  "dead-letter queue's messages can be moved");
  if (!request.destination.empty() && !registry_->find(entity_kind::queue, request.destination))
    return unknown("queue", request.destination);
  if (request.destination == request.source)
    return make_error(errc::invalid_argument,
                      "a message move task cannot move queue '" + request.source + "' into itself");
  if (request.rate_per_s > 500)
    return make_error(errc::invalid_argument, "a message move task moves at most 500 messages "
                                              "per second, not " +
                                                  std::to_string(request.rate_per_s));
  return {};
}

caf::expected<message_move_status> node::start_message_move(const message_move_request& request) {
  if (auto err = check(request))
    return err;
  return ask<message_move_status>(*system_, mover_, redrive_atom::value, request);
}

caf::expected<std::vector<message_move_status>> node::message_moves(const std::string& source) {
  return ask<std::vector<message_move_status>>(*system_, mover_, list_atom::value, source);
}

caf::expected<message_move_status> node::cancel_message_move(const std::string& handle) {
  return ask<message_move_status>(*system_, mover_, cancel_atom::value, handle);
}

caf::expected<uint64_t> node::purge(const std::string& name) {
  auto q = queue(name);
  if (!q)
    return std::move(q.error());
  return ask<uint64_t>(*system_, *q, purge_atom::value);
}

caf::expected<std::vector<dead_letter>> node::dead_letters(const std::string& name, uint32_t max) {
  auto s = dead_letter_sink(name);
  if (!s)
    return std::move(s.error());
  return ask<std::vector<dead_letter>>(*system_, *s, list_atom::value, max);
}

caf::expected<redrive_result> node::redrive(const std::string& name,
                                            const redrive_request& request) {
  auto s = dead_letter_sink(name);
  if (!s)
    return std::move(s.error());
  if (!request.to.empty() && !registry_->find(entity_kind::queue, request.to))
    return unknown("queue", request.to);
  return ask<redrive_result>(*system_, *s, redrive_atom::value, request);
}

caf::expected<uint64_t> node::purge_dead_letters(const std::string& name) {
  auto s = dead_letter_sink(name);
  if (!s)
    return std::move(s.error());
  return ask<uint64_t>(*system_, *s, purge_atom::value);
}

} // namespace mailroom
