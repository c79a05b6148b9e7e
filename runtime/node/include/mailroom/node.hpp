// A Mailroom node embedded in an application: the actor system, the journal, and every queue
// and dead-letter sink recovered from it.
//
//   mailroom::node_config config;
//   config.data_dir = "./data";
//   auto n = mailroom::node::open(config);          // recovers what the journal holds
//   (*n)->create_queue({.name = "orders"});
//   (*n)->send("orders", {{.body = "hello"}});      // returns once durable
//
// Thread-safety: every member function may be called from any non-actor thread. The blocking
// helpers (send, receive, ...) must not be called from inside an actor: actors talk to queue
// actors directly with the messages in mailroom/protocol.hpp (see queue()).
#pragma once

#include "mailroom/catalog.hpp"
#include "mailroom/clock.hpp"
#include "mailroom/data_plane.hpp"
#include "mailroom/endpoint_limits.hpp"
#include "mailroom/memory_budget.hpp"
#include "mailroom/message_move_types.hpp"
#include "mailroom/registry.hpp"
#include "mailroom/alarm_types.hpp"
#include "mailroom/arn.hpp"
#include "mailroom/router_types.hpp"
#include "mailroom/saga_types.hpp"
#include "mailroom/topic_types.hpp"
#include "mailroom/transaction.hpp"
#include "mailroom/types.hpp"

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace mailroom {

class entity_catalog;
class journal;
class journal_io;
class write_batch;

/// Who may call the HTTP API ([http] in TOML).
struct http_auth_config {
  /// "none": any access key is taken (the log says so at start); "sigv4": every request must
  /// carry an AWS Signature Version 4 of one of `keys`, dated within 15 minutes of the node's
  /// clock, or it is refused with AWS's codes (MissingAuthenticationToken,
  /// InvalidClientTokenId, SignatureDoesNotMatch, RequestExpired).
  std::string mode = "none";
  std::map<std::string, std::string> keys; ///< access key id → secret access key
};

struct node_config {
  std::string data_dir = "./mailroom-data";
  /// Client endpoint address (mailroomd serves it; an embedded node may leave it empty).
  std::string listen = "127.0.0.1:7411";
  /// SQS/SNS-compatible HTTP API address ("HOST:PORT"; empty: not served). Served by mailroomd on
  /// the client endpoint's event loop, with the same connection limits.
  std::string http;
  http_auth_config http_auth;
  /// The account of ARNs and queue URLs the HTTP API answers with (`[http] account`).
  std::string aws_account = aws_default_account;
  /// What clients of that endpoint may cost the node.
  endpoint_limits endpoint;
  /// Below this much free space on the data directory's file system, sends (and anything else
  /// that adds messages) are refused, naming the limit; receives, acks, purges and deletes go
  /// on, so consumers can drain. Sends resume by themselves once space is back (RabbitMQ's
  /// disk_free_limit, whose default is 50 MB). 0: no watermark.
  uint64_t min_free_disk_bytes = 64ull * 1024 * 1024;
  /// false turns fsync off: for benchmarks of the non-durable path only.
  bool durable = true;
  /// Journal every step of every message (sent, delivered, retried, dead-lettered, redriven,
  /// acked) for `mailroom trace`, kept a day. Costs about half the queue throughput.
  bool trace = false;
  /// Bytes of message bodies each queue keeps in memory (recent sends, and a batch read ahead
  /// of its consumers); the rest stay in the journal, so a deep queue costs its index only
  /// (16 bytes a message, plus 8 while it is ready). TOML: `[node] queue_cache`. 16 MiB holds
  /// what 2 producers with 4 batches of 1000 in flight each send before it is consumed; with
  /// 4 MiB those bodies were read back from the journal at half the rate (docs/benchmarks.md).
  size_t queue_cache_bytes = 16ull * 1024 * 1024;
  /// What the queues of the node may hold in memory, all together: their index (24 bytes a
  /// queued message), cached bodies and sends not yet committed. Above three quarters of it,
  /// sends are held and confirm later, as consumers free memory; a send that would take what
  /// is held past it is refused with errc::memory_full. Consumers are never held.
  /// TOML: `[node] max_memory`. 0: no limit.
  size_t max_memory_bytes = 1ull << 30;
  std::string log_level = "info";
  /// Queues declared in code or the TOML file; created at open, reconfigured when they differ.
  std::vector<queue_config> queues;
  /// Topics declared in code or the TOML file, after the queues; created or reconfigured.
  std::vector<topic_config> topics;
  /// Routers declared in code or the TOML file, after the topics; created or reconfigured.
  std::vector<router_config> routers;
  /// Alarms declared in code or the TOML file; created or reconfigured.
  std::vector<alarm_config> alarms;
  /// Saga definitions declared in code or the TOML file, after the rest; each version stored.
  std::vector<saga_definition> sagas;
  /// Where the declarations above come from (parse_config sets the file name): an error in
  /// applying one at open names it, e.g. a subscription to a queue that exists nowhere.
  std::string declared_in;
  /// Scheduler threads for actors; 0: one per core.
  size_t worker_threads = 0;
  /// The clock of every actor's timers; tests pass a virtual one.
  clock_ptr clock = make_system_clock();
  /// The file system as the journal uses it; tests pass a fault_io (runtime/storage/fault_io.hpp)
  /// to fail or lose writes. Null: the real one.
  std::shared_ptr<journal_io> storage;
};

/// The data-plane calls (send, receive, ...) and the catalog's (create_queue, ...) are documented
/// in data_plane.hpp and catalog.hpp.
class node final : public data_plane, public catalog {
public:
  /// Opens the journal in `config.data_dir` (created if missing), recovers every queue and
  /// sink in it, then creates or reconfigures the declared queues.
  static caf::expected<std::unique_ptr<node>> open(node_config config);

  /// Lets in-flight work finish, commits the journal and stops the actors.
  ~node();

  node(const node&) = delete;
  node& operator=(const node&) = delete;

  caf::actor_system& system();
  const node_config& config() const { return config_; }

  // The catalog (catalog.hpp), and what the node adds to it.
  caf::error create_queue(const queue_config& config) override;
  caf::error put_queue(const queue_config& config) override;
  caf::error delete_queue(const std::string& name) override;
  caf::expected<std::vector<std::string>> list_queues() override { return queue_names(); }
  caf::expected<queue_config> queue_configuration(const std::string& name) override;
  caf::error create_dead_letter_sink(const std::string& name);

  caf::error create_topic(const topic_config& config) override;
  /// Creates or replaces a topic's configuration.
  caf::error put_topic(const topic_config& config);
  caf::error delete_topic(const std::string& name) override;
  caf::expected<std::vector<std::string>> list_topics() override { return topic_names(); }
  caf::expected<topic_config> topic_configuration(const std::string& name) override;
  caf::error subscribe(const std::string& topic, const subscription& sub) override;
  caf::error unsubscribe(const std::string& topic, const std::string& queue) override;
  /// Replaces the settings of queue `sub.queue`'s subscription (not_found when there is none).
  caf::error update_subscription(const std::string& topic, const subscription& sub);
  /// Sets a topic's display name (SNS SetTopicAttributes DisplayName), keeping the rest.
  caf::error set_topic_display_name(const std::string& topic, const std::string& display_name);

  caf::error put_router(const router_config& config) override;
  caf::error delete_router(const std::string& name) override;
  caf::expected<std::vector<std::string>> list_routers() override { return router_names(); }
  caf::expected<router_config> router_configuration(const std::string& name) override;

  caf::error put_alarm(const alarm_config& config) override;
  caf::error delete_alarm(const std::string& name) override;
  caf::expected<std::vector<std::string>> list_alarms() override { return alarm_names(); }
  caf::expected<alarm_config> alarm_configuration(const std::string& name) override;
  caf::expected<alarm_status> alarm_state_of(const std::string& name) override;

  /// Names of each kind, as the registry has them now.
  std::vector<std::string> queue_names() const;
  std::vector<std::string> dead_letter_sink_names() const;
  std::vector<std::string> topic_names() const;
  std::vector<std::string> router_names() const;
  std::vector<std::string> alarm_names() const;

  /// Stores a saga definition's version and starts its manager (and, on first use, its inbox
  /// queue "saga.NAME" and dead-letter sink "saga.NAME.dead"; with an alarm topic, an alarm
  /// "saga.NAME.parked" on that sink). Storing a version again unchanged succeeds; changed,
  /// already_exists: store the change as a new version.
  caf::error put_saga(saga_definition definition);
  caf::expected<saga_definition> saga_definition_of(const std::string& name,
                                                    uint32_t version) override;
  caf::expected<std::string> start_saga(const std::string& definition, const std::string& data,
                                        const std::string& idempotency_key = {}) override;
  /// Starts one instance per element of `data` (JSON objects), without idempotency keys, and
  /// returns their ids once all are journaled: bulk starts share commits.
  caf::expected<std::vector<std::string>> start_sagas(const std::string& definition,
                                                      const std::vector<std::string>& data);
  caf::error cancel_saga(const std::string& id) override;
  caf::expected<saga_instance> saga(const std::string& id) override;
  caf::expected<std::vector<saga_summary>> sagas(const saga_filter& filter) override;
  caf::expected<saga_metrics> saga_statistics(const std::string& definition = {}) override;

  caf::expected<caf::actor> queue(const std::string& name) const;
  caf::expected<caf::actor> topic(const std::string& name) const;
  caf::expected<caf::actor> router(const std::string& name) const;
  caf::expected<caf::actor> alarm(const std::string& name) const;
  caf::expected<caf::actor> dead_letter_sink(const std::string& name) const;
  std::shared_ptr<const registry> entities() const { return registry_; }
  /// What the queues hold in memory and the sends waiting for room ([node] max_memory).
  memory_use memory() const { return memory_->use(); }

  /// Runs a read-only statement on the node's database: how an application reads the tables its
  /// transactional services write (see transaction.hpp). Write statements are refused.
  caf::expected<std::vector<sql_row>> query(const std::string& sql,
                                            const std::vector<sql_value>& params = {});

  /// The node's journal, for the runtime's own services (transactional consume). Not for
  /// applications: its interface is private (runtime/storage/journal.hpp).
  journal& journal_internal() { return *journal_; }

  /// Sends `actor` an exit message when the node shuts down (services, app actors).
  void stop_on_shutdown(caf::actor actor);

  // The data plane (data_plane.hpp): blocking helpers over the actors' protocols.
  caf::expected<std::vector<std::string>>
  send(const std::string& queue, const std::vector<outgoing_message>& messages) override;
  caf::expected<std::vector<send_result>>
  send_each(const std::string& queue, const std::vector<outgoing_message>& messages) override;
  caf::expected<std::vector<delivery>> receive(const std::string& queue,
                                               const receive_request& request) override;
  caf::expected<std::vector<ack_outcome>> ack(const std::string& queue,
                                              const std::vector<std::string>& receipts) override;
  caf::expected<std::vector<ack_outcome>> nack(const std::string& queue,
                                               const std::vector<nack_request>& requests) override;
  caf::error change_visibility(const std::string& queue, const std::string& receipt,
                               int64_t visibility_ms) override;
  caf::expected<queue_stats> stats(const std::string& queue) override;
  /// Dead letters a sink holds now.
  caf::expected<uint64_t> dead_letter_depth(const std::string& sink);
  /// The queues whose dead letters go to `queue` (SQS ListDeadLetterSourceQueues), sorted.
  std::vector<std::string> dead_letter_sources(const std::string& queue);

  // Message move tasks (message_move_types.hpp; SQS StartMessageMoveTask).
  /// Whether `request` may start: its source is a dead-letter queue, its destination (if
  /// named) a queue, its rate at most 500 per second (SQS's limit).
  caf::error check(const message_move_request& request);
  caf::expected<message_move_status> start_message_move(const message_move_request& request);
  /// A source's tasks, newest first (the ten most recent).
  caf::expected<std::vector<message_move_status>> message_moves(const std::string& source);
  caf::expected<message_move_status> cancel_message_move(const std::string& handle);
  /// The actor that runs them, for callers that ask it asynchronously (the HTTP face).
  caf::actor message_mover() const { return mover_; }
  caf::expected<uint64_t> purge(const std::string& queue) override;
  caf::expected<publish_result> publish(const std::string& topic,
                                        const std::vector<outgoing_message>& messages) override;
  caf::expected<topic_stats> topic_statistics(const std::string& topic) override;
  caf::expected<route_result> route(const std::string& router,
                                    const std::vector<outgoing_message>& messages) override;
  caf::expected<std::vector<std::vector<trace_step>>> trace(const std::string& id,
                                                            uint32_t depth = 3) override;
  caf::expected<std::vector<dead_letter>> dead_letters(const std::string& sink,
                                                       uint32_t max) override;
  caf::expected<redrive_result> redrive(const std::string& sink,
                                        const redrive_request& request) override;
  caf::expected<uint64_t> purge_dead_letters(const std::string& sink) override;

private:
  explicit node(node_config config);
  caf::error recover();
  caf::error recover_topics();
  caf::error recover_routers();
  caf::error recover_alarms();
  caf::error recover_sagas();
  /// The inbox queue and dead-letter sink of a definition, and its alarm.
  caf::error create_saga_entities(const saga_definition& definition);
  caf::actor spawn_queue_actor(class queue_state state);

  // The one way an entity changes (entity_catalog.hpp). REQUIRES: the entity claimed.
  /// Journals `writes`, then reconfigures the entity's running actor or spawns it.
  caf::error commit_entity(entity_kind kind, const std::string& name, write_batch writes,
                           const std::function<caf::error(const caf::actor&)>& reconfigure,
                           const std::function<caf::actor()>& spawn);
  /// Journals `writes`, then stops the entity's actor and forgets it.
  caf::error remove_entity(entity_kind kind, const std::string& name, write_batch writes);
  /// Creates (`create_only`: refuses another configuration of an existing one) or reconfigures.
  caf::error change_queue(const queue_config& config, bool create_only);
  caf::error change_topic(const topic_config& config, bool create_only);
  /// Subscribes `sub.queue`, or with `replace` changes its subscription's settings.
  caf::error change_subscription(const std::string& topic, const subscription& sub, bool replace);
  /// Journals and applies a topic's new configuration. REQUIRES: the topic claimed.
  caf::error write_topic(topic_config config);
  /// Drops subscriptions of a deleted queue. REQUIRES: the queue claimed, gone from the table.
  caf::error unsubscribe_everywhere(const std::string& queue);

  node_config config_;
  std::unique_ptr<journal> journal_;
  std::unique_ptr<caf::actor_system_config> system_config_;
  std::unique_ptr<caf::actor_system> system_;
  std::shared_ptr<registry> registry_;
  std::shared_ptr<memory_budget> memory_;
  std::unique_ptr<entity_catalog> catalog_;
  /// The last saga start sequence given out (the journal's row key for instances).
  std::shared_ptr<std::atomic<uint64_t>> last_saga_seq_ =
      std::make_shared<std::atomic<uint64_t>>(0);
  std::mutex services_mutex_; // guards services_
  std::vector<caf::actor> services_;
  caf::actor mover_;
};

} // namespace mailroom
