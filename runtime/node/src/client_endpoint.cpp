#include "mailroom/client_endpoint.hpp"

#include "actor_bridge.hpp"
#include "codec.hpp"
#include "endpoint_listener.hpp"
#include "http_face.hpp"
#include "mailroom/error.hpp"
#include "mailroom/node.hpp"
#include "mailroom/protocol.hpp"

#include <kj/async.h>
#include <spdlog/spdlog.h>

#include <future>
#include <thread>

namespace mailroom {

namespace {

using codec::text;

void set_status(schema::Status::Builder status, const caf::error& err) {
  status.setCode(std::string{to_string(code_of(err))});
  status.setMessage(message_of(err));
}

caf::error too_many(const char* what, size_t n) {
  return make_error(errc::invalid_argument, std::string{what} + " of " + std::to_string(n) +
                                                " exceeds the limit of " +
                                                std::to_string(max_wire_batch));
}

class node_server final : public schema::Node::Server {
public:
  node_server(node& n, actor_bridge& bridge) : node_(n), bridge_(bridge) {}

protected:
  kj::Promise<void> createQueue(CreateQueueContext context) override {
    auto config = codec::read(context.getParams().getConfig());
    return status_of(context, [this, config] { return node_.create_queue(config); });
  }

  kj::Promise<void> putQueue(PutQueueContext context) override {
    auto config = codec::read(context.getParams().getConfig());
    return status_of(context, [this, config] { return node_.put_queue(config); });
  }

  kj::Promise<void> queueConfig(QueueConfigContext context) override {
    auto config = node_.queue_configuration(text(context.getParams().getQueue()));
    if (!config)
      return fail(context, config.error());
    codec::write(context.getResults().initConfig(), *config);
    return kj::READY_NOW;
  }

  kj::Promise<void> deleteQueue(DeleteQueueContext context) override {
    auto name = text(context.getParams().getQueue());
    return status_of(context, [this, name] { return node_.delete_queue(name); });
  }

  kj::Promise<void> listQueues(ListQueuesContext context) override {
    return names(context, node_.queue_names());
  }

  kj::Promise<void> queueStats(QueueStatsContext context) override {
    return answer<queue_stats>(
        context, node_.queue(text(context.getParams().getQueue())),
        [](QueueStatsContext& c, const queue_stats& r) {
          codec::write(c.getResults().initStats(), r);
        },
        stats_atom::value);
  }

  kj::Promise<void> send(SendContext context) override {
    auto params = context.getParams();
    auto q = node_.queue(text(params.getQueue()));
    auto in = params.getMessages();
    if (q && in.size() > max_wire_batch)
      return fail(context, too_many("send batch", in.size()));
    if (params.getEach())
      return answer<std::vector<send_result>>(
          context, std::move(q),
          [](SendContext& c, const std::vector<send_result>& r) {
            auto ids = c.getResults().initIds(r.size());
            auto refusals = c.getResults().initRefusals(r.size());
            for (unsigned i = 0; i < r.size(); ++i) {
              ids.set(i, r[i].id);
              refusals[i].setCode(r[i].error_code);
              refusals[i].setMessage(r[i].error_message);
            }
          },
          send_each_atom::value, codec::read(in));
    return answer<std::vector<std::string>>(
        context, std::move(q),
        [](SendContext& c, const std::vector<std::string>& r) {
          auto ids = c.getResults().initIds(r.size());
          for (unsigned i = 0; i < r.size(); ++i)
            ids.set(i, r[i]);
        },
        send_atom::value, codec::read(in));
  }

  kj::Promise<void> receive(ReceiveContext context) override {
    auto params = context.getParams();
    // Its consumer is another process: it cannot crash the node, so no lease waits for disk.
    receive_request request{params.getMax(), params.getWaitMs(), params.getVisibilityMs(), false};
    return answer<std::vector<delivery>>(
        context, node_.queue(text(params.getQueue())),
        [](ReceiveContext& c, const std::vector<delivery>& r) {
          auto list = c.getResults().initMessages(r.size());
          for (unsigned i = 0; i < r.size(); ++i) {
            list[i].setReceipt(codec::as_text(r[i].receipt));
            list[i].setReceiveCount(r[i].receive_count);
            auto envelope = list[i].initEnvelope();
            codec::write(envelope, *r[i].message);
            envelope.setReceiveCount(r[i].receive_count); // current, not as stored at enqueue
          }
        },
        receive_atom::value, request);
  }

  kj::Promise<void> ack(AckContext context) override {
    auto params = context.getParams();
    auto q = node_.queue(text(params.getQueue()));
    if (!q)
      return fail(context, q.error());
    if (params.getReceipts().size() > max_wire_batch)
      return fail(context, too_many("ack batch", params.getReceipts().size()));
    std::vector<std::string> receipts;
    for (auto r : params.getReceipts())
      receipts.push_back(text(r));
    return answer<std::vector<ack_outcome>>(
        context, std::move(q),
        [](AckContext& c, const std::vector<ack_outcome>& r) {
          codec::write(c.getResults().initResults(r.size()), r);
        },
        ack_atom::value, std::move(receipts));
  }

  kj::Promise<void> nack(NackContext context) override {
    auto params = context.getParams();
    if (params.getRequests().size() > max_wire_batch)
      return fail(context, too_many("nack batch", params.getRequests().size()));
    return answer<std::vector<ack_outcome>>(
        context, node_.queue(text(params.getQueue())),
        [](NackContext& c, const std::vector<ack_outcome>& r) {
          codec::write(c.getResults().initResults(r.size()), r);
        },
        nack_atom::value, codec::read(params.getRequests()));
  }

  kj::Promise<void> changeVisibility(ChangeVisibilityContext context) override {
    auto params = context.getParams();
    return answer<ok_atom>(
        context, node_.queue(text(params.getQueue())), [](ChangeVisibilityContext&, ok_atom) {},
        visibility_atom::value, text(params.getReceipt()), params.getVisibilityMs());
  }

  kj::Promise<void> purgeQueue(PurgeQueueContext context) override {
    return answer<uint64_t>(
        context, node_.queue(text(context.getParams().getQueue())),
        [](PurgeQueueContext& c, uint64_t purged) { c.getResults().setPurged(purged); },
        purge_atom::value);
  }

  kj::Promise<void> deadLetters(DeadLettersContext context) override {
    auto params = context.getParams();
    return answer<std::vector<dead_letter>>(
        context, node_.dead_letter_sink(text(params.getSink())),
        [](DeadLettersContext& c, const std::vector<dead_letter>& r) {
          auto list = c.getResults().initRecords(r.size());
          for (unsigned i = 0; i < r.size(); ++i)
            codec::write(list[i], r[i]);
        },
        list_atom::value, params.getMax());
  }

  kj::Promise<void> redrive(RedriveContext context) override {
    auto params = context.getParams();
    auto s = node_.dead_letter_sink(text(params.getSink()));
    redrive_request request;
    auto f = params.getFilter();
    request.filter = {text(f.getReason()), text(f.getSource()), text(f.getAttributeKey()),
                      text(f.getAttributeValue()), text(f.getErrorContains())};
    request.to = text(params.getTo());
    request.rate_per_s = params.getRatePerSecond();
    request.dry_run = params.getDryRun();
    if (s && !request.to.empty())
      if (auto q = node_.queue(request.to); !q)
        return fail(context, q.error());
    return answer<redrive_result>(
        context, std::move(s),
        [](RedriveContext& c, const redrive_result& r) {
          c.getResults().setMoved(r.moved);
          auto ids = c.getResults().initIds(r.ids.size());
          for (unsigned i = 0; i < r.ids.size(); ++i)
            ids.set(i, r.ids[i]);
        },
        redrive_atom::value, std::move(request));
  }

  kj::Promise<void> purgeDeadLetters(PurgeDeadLettersContext context) override {
    return answer<uint64_t>(
        context, node_.dead_letter_sink(text(context.getParams().getSink())),
        [](PurgeDeadLettersContext& c, uint64_t purged) { c.getResults().setPurged(purged); },
        purge_atom::value);
  }

  kj::Promise<void> createTopic(CreateTopicContext context) override {
    auto config = codec::read(context.getParams().getConfig());
    return status_of(context, [this, config] { return node_.create_topic(config); });
  }

  kj::Promise<void> deleteTopic(DeleteTopicContext context) override {
    auto name = text(context.getParams().getName());
    return status_of(context, [this, name] { return node_.delete_topic(name); });
  }

  kj::Promise<void> listTopics(ListTopicsContext context) override {
    return names(context, node_.topic_names());
  }

  kj::Promise<void> describeTopic(DescribeTopicContext context) override {
    auto name = text(context.getParams().getName());
    auto config = node_.topic_configuration(name);
    auto t = node_.topic(name);
    if (!config || !t)
      return fail(context, config ? t.error() : config.error());
    return bridge_.ask<topic_stats>(*t, stats_atom::value)
        .then([context, config = std::move(*config)](caf::expected<topic_stats> r) mutable {
          if (!r)
            return set_status(context.getResults().initStatus(), r.error());
          codec::write(context.getResults().initConfig(), config);
          codec::write(context.getResults().initStats(), *r);
        });
  }

  kj::Promise<void> subscribe(SubscribeContext context) override {
    auto topic = text(context.getParams().getTopic());
    auto sub = codec::read(context.getParams().getSubscription());
    return status_of(context, [this, topic, sub] { return node_.subscribe(topic, sub); });
  }

  kj::Promise<void> unsubscribe(UnsubscribeContext context) override {
    auto topic = text(context.getParams().getTopic());
    auto queue = text(context.getParams().getQueue());
    return status_of(context, [this, topic, queue] { return node_.unsubscribe(topic, queue); });
  }

  kj::Promise<void> publish(PublishContext context) override {
    auto params = context.getParams();
    auto t = node_.topic(text(params.getTopic()));
    auto in = params.getMessages();
    if (t && in.size() > max_wire_batch)
      return fail(context, too_many("publish batch", in.size()));
    return answer<publish_result>(
        context, std::move(t),
        [](PublishContext& c, const publish_result& r) {
          auto results = c.getResults();
          auto ids = results.initIds(r.ids.size());
          for (unsigned i = 0; i < r.ids.size(); ++i)
            ids.set(i, r.ids[i]);
          results.setDeliveries(r.deliveries);
          results.setUnmatched(r.unmatched);
          results.setDeadLettered(r.dead_lettered);
        },
        publish_atom::value, codec::read(in));
  }

  kj::Promise<void> trace(TraceContext context) override {
    auto id = text(context.getParams().getId());
    auto depth = context.getParams().getDepth();
    // A scan of the trace rows: off the event loop, like catalog changes.
    return answer_off_loop<std::vector<std::vector<trace_step>>>(
        context, [this, id, depth] { return node_.trace(id, depth); },
        [](TraceContext& c, const std::vector<std::vector<trace_step>>& r) {
          auto stories = c.getResults().initStories(r.size());
          for (unsigned i = 0; i < r.size(); ++i) {
            auto steps = stories[i].initSteps(r[i].size());
            for (unsigned k = 0; k < steps.size(); ++k)
              codec::write(steps[k], r[i][k]);
          }
        });
  }

  // Sagas: starting and cancelling wait for a commit, listing and showing read the journal.
  kj::Promise<void> startSaga(StartSagaContext context) override {
    auto p = context.getParams();
    auto definition = text(p.getDefinition()), data = text(p.getData()),
         key = text(p.getIdempotencyKey());
    return answer_off_loop<std::string>(
        context, [this, definition, data, key] { return node_.start_saga(definition, data, key); },
        [](StartSagaContext& c, const std::string& id) { c.getResults().setId(id); });
  }

  kj::Promise<void> cancelSaga(CancelSagaContext context) override {
    auto id = text(context.getParams().getId());
    return status_of(context, [this, id] { return node_.cancel_saga(id); });
  }

  kj::Promise<void> listSagas(ListSagasContext context) override {
    auto p = context.getParams();
    saga_filter filter;
    filter.definition = text(p.getDefinition());
    filter.max = std::clamp<uint32_t>(p.getMax(), 1, 10'000);
    if (p.getStatus().size() > 0) {
      filter.status = parse_saga_status(text(p.getStatus()));
      if (!filter.status)
        return fail(context, make_error(errc::invalid_argument,
                                        "saga status '" + text(p.getStatus()) +
                                            "' is not one of RUNNING, COMPLETED, COMPENSATING, "
                                            "COMPENSATED, PARKED"));
    }
    return answer_off_loop<std::vector<saga_summary>>(
        context, [this, filter] { return node_.sagas(filter); },
        [](ListSagasContext& c, const std::vector<saga_summary>& r) {
          auto list = c.getResults().initSagas(r.size());
          for (unsigned i = 0; i < r.size(); ++i)
            codec::write(list[i], r[i]);
        });
  }

  kj::Promise<void> showSaga(ShowSagaContext context) override {
    auto id = text(context.getParams().getId());
    return answer_off_loop<saga_instance>(
        context, [this, id] { return node_.saga(id); },
        [](ShowSagaContext& c, const saga_instance& r) {
          codec::write(c.getResults().initInstance(), r);
        });
  }

  kj::Promise<void> sagaDefinition(SagaDefinitionContext context) override {
    auto name = text(context.getParams().getName());
    auto version = context.getParams().getVersion();
    auto definition = node_.saga_definition_of(name, version); // the catalog's table: no I/O
    if (!definition)
      return fail(context, definition.error());
    codec::write(context.getResults().initDefinition(), *definition);
    return kj::READY_NOW;
  }

  kj::Promise<void> route(RouteContext context) override {
    auto params = context.getParams();
    auto in = params.getMessages();
    if (in.size() > max_wire_batch)
      return fail(context, too_many("route batch", in.size()));
    return answer<route_result>(
        context, node_.router(text(params.getRouter())),
        [](RouteContext& c, const route_result& r) {
          c.getResults().setRouted(r.routed);
          c.getResults().setUnroutable(r.unroutable);
          c.getResults().setCopies(r.copies);
        },
        route_atom::value, codec::read(in));
  }

  kj::Promise<void> sagaStats(SagaStatsContext context) override {
    auto definition = text(context.getParams().getDefinition());
    return answer_off_loop<saga_metrics>(
        context, [this, definition] { return node_.saga_statistics(definition); },
        [](SagaStatsContext& c, const saga_metrics& m) {
          codec::write(c.getResults().initStats(), m);
        });
  }

  /// Runs a blocking node call that yields a value off the event loop; `fill` writes the value
  /// into the results, an error goes into their status.
  // Routers and alarms: catalog changes wait for a commit, off the event loop.
  kj::Promise<void> putRouter(PutRouterContext context) override {
    auto config = codec::read(context.getParams().getConfig());
    if (!config)
      return fail(context, config.error());
    return status_of(context, [this, config = *config] { return node_.put_router(config); });
  }

  kj::Promise<void> deleteRouter(DeleteRouterContext context) override {
    auto name = text(context.getParams().getName());
    return status_of(context, [this, name] { return node_.delete_router(name); });
  }

  kj::Promise<void> listRouters(ListRoutersContext context) override {
    return names(context, node_.router_names());
  }

  kj::Promise<void> showRouter(ShowRouterContext context) override {
    auto config = node_.router_configuration(text(context.getParams().getName()));
    if (!config)
      return fail(context, config.error());
    codec::write(context.getResults().initConfig(), *config);
    return kj::READY_NOW;
  }

  kj::Promise<void> putAlarm(PutAlarmContext context) override {
    auto config = codec::read(context.getParams().getConfig());
    return status_of(context, [this, config] { return node_.put_alarm(config); });
  }

  kj::Promise<void> deleteAlarm(DeleteAlarmContext context) override {
    auto name = text(context.getParams().getName());
    return status_of(context, [this, name] { return node_.delete_alarm(name); });
  }

  kj::Promise<void> listAlarms(ListAlarmsContext context) override {
    return names(context, node_.alarm_names());
  }

  kj::Promise<void> showAlarm(ShowAlarmContext context) override {
    auto name = text(context.getParams().getName());
    auto config = node_.alarm_configuration(name);
    if (!config)
      return fail(context, config.error());
    // The state is the alarm actor's: asked like any entity, not on a blocking worker.
    return answer<alarm_status>(
        context, node_.alarm(name),
        [config = std::move(*config)](ShowAlarmContext& c, const alarm_status& state) {
          codec::write(c.getResults().initConfig(), config);
          codec::write(c.getResults().initState(), state);
        },
        stats_atom::value);
  }

private:
  /// Runs a blocking node call (catalog changes wait for their commit) off the event loop, on
  /// the endpoint's bounded pool (actor_bridge.hpp), so the loop keeps serving.
  kj::Promise<caf::error> off_loop(std::function<caf::error()> call) {
    return bridge_.run(std::move(call));
  }

  /// Answers a listing of entity names.
  template <class Context>
  static kj::Promise<void> names(Context& context, const std::vector<std::string>& names) {
    auto list = context.getResults().initNames(names.size());
    for (unsigned i = 0; i < names.size(); ++i)
      list.set(i, names[i]);
    return kj::READY_NOW;
  }

  /// Asks `target` (an entity the node looked up) with `request` and answers the RPC: the
  /// error as its status, or the reply through `fill`. The kj thread never blocks.
  template <class T, class Context, class Fill, class... Ts>
  kj::Promise<void> answer(Context& context, caf::expected<caf::actor> target, Fill fill,
                           Ts&&... request) {
    if (!target)
      return fail(context, target.error());
    return bridge_.ask<T>(*target, std::forward<Ts>(request)...)
        .then([context, fill = std::move(fill)](caf::expected<T> r) mutable {
          if (!r)
            return set_status(context.getResults().initStatus(), r.error());
          fill(context, *r);
        });
  }

  template <class T, class Context, class Fill>
  kj::Promise<void> answer_off_loop(Context& context, std::function<caf::expected<T>()> call,
                                    Fill fill) {
    auto result = std::make_shared<caf::expected<T>>(make_error(errc::unavailable, "not run"));
    return off_loop([call = std::move(call), result] {
             *result = call();
             return caf::error{};
           })
        .then([context, result, fill = std::move(fill)](caf::error) mutable {
          if (!*result)
            return set_status(context.getResults().initStatus(), result->error());
          fill(context, **result);
        });
  }

  /// Runs a catalog change off the event loop and answers with its status.
  template <class Context>
  kj::Promise<void> status_of(Context& context, std::function<caf::error()> call) {
    return off_loop(std::move(call)).then([context](caf::error err) mutable {
      if (err)
        set_status(context.getResults().initStatus(), err);
    });
  }

  template <class Context>
  static kj::Promise<void> fail(Context& context, const caf::error& err) {
    set_status(context.getResults().initStatus(), err);
    return kj::READY_NOW;
  }

  node& node_;
  actor_bridge& bridge_;
};

/// Workers for blocking calls, and how many may wait at once: catalog changes mostly wait for
/// one group commit, so four threads keep up with any client; past 256 waiting, callers are
/// told to retry.
constexpr size_t blocking_workers = 4;
constexpr uint32_t max_blocking_calls = 256;

} // namespace

struct client_endpoint::impl {
  std::thread thread;
  // Set by the endpoint thread once it runs; fulfilled from the destructor to stop it.
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> stop;
};

namespace {

caf::error check_address(const char* what, const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size())
    return make_error(errc::invalid_argument, std::string{what} + " address '" + address +
                                                  "' is not HOST:PORT (e.g. 127.0.0.1:7411)");
  return {};
}

} // namespace

caf::expected<std::unique_ptr<client_endpoint>>
client_endpoint::start(node& n, const std::string& listen, const std::string& http) {
  if (auto err = check_address("listen", listen))
    return err;
  if (!http.empty()) {
    if (auto err = check_address("HTTP", http))
      return err;
    if (n.config().http_auth.mode == "sigv4" && n.config().http_auth.keys.empty())
      return make_error(errc::invalid_argument,
                        "[http] auth = \"sigv4\" needs access keys: [http] keys_file, or "
                        "MAILROOM_HTTP_ACCESS_KEY_ID and MAILROOM_HTTP_SECRET_ACCESS_KEY");
  }
  const auto limits = n.config().endpoint;
  if (auto err = validate(limits))
    return err;
  // Every connection is a descriptor (each face may hold max_connections); the journal and the
  // actor system need a few more.
  make_room_for_descriptors(uint64_t{limits.max_connections} * (http.empty() ? 1 : 2) + 64);
  std::unique_ptr<client_endpoint> endpoint{new client_endpoint()};
  endpoint->impl_ = std::make_unique<impl>();
  std::promise<caf::expected<std::pair<uint16_t, uint16_t>>> started; // endpoint, HTTP
  auto ready = started.get_future();
  auto* state = endpoint->impl_.get();
  state->thread = std::thread([&n, listen, http, limits, state, &started] {
    std::string where = "client endpoint on '" + listen + "'";
    try {
      auto io = kj::setupAsyncIo();
      auto& network = io.provider->getNetwork();
      auto address = network.parseAddress(listen, default_client_port).wait(io.waitScope);
      auto receiver = address->listen();
      actor_bridge bridge(n.system(), blocking_workers, max_blocking_calls);
      endpoint_listener listener("client endpoint", io.provider->getTimer(), *receiver, limits,
                                 [&n, &bridge] { return kj::heap<node_server>(n, bridge); });
      auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
      auto serving = listener.run();
      kj::Own<kj::ConnectionReceiver> http_receiver;
      kj::Own<http_face> face;
      if (!http.empty()) {
        where = "HTTP API on '" + http + "'";
        http_receiver = network.parseAddress(http).wait(io.waitScope)->listen();
        face = kj::heap<http_face>(n, bridge, io.provider->getTimer(), limits,
                                   [&listener] { return listener.connections(); });
        serving = serving.exclusiveJoin(face->run(*http_receiver));
      }
      state->stop = std::move(paf.fulfiller);
      started.set_value(std::pair<uint16_t, uint16_t>{
          static_cast<uint16_t>(receiver->getPort()),
          http_receiver ? static_cast<uint16_t>(http_receiver->getPort()) : uint16_t{0}});
      paf.promise.exclusiveJoin(kj::mv(serving)).wait(io.waitScope);
    } catch (const kj::Exception& e) {
      try {
        started.set_value(make_error(errc::unavailable, where + ": " + e.getDescription().cStr()));
      } catch (const std::future_error&) {
        spdlog::error("client endpoint stopped: {}", e.getDescription().cStr());
      }
    }
  });
  auto ports = ready.get();
  if (!ports) {
    state->thread.join();
    return std::move(ports.error());
  }
  endpoint->port_ = ports->first;
  endpoint->http_port_ = ports->second;
  spdlog::info("client endpoint listening on {} (port {}; at most {} connections)", listen,
               ports->first, limits.max_connections);
  if (!http.empty() && n.config().http_auth.mode == "sigv4")
    spdlog::info("SQS/SNS-compatible HTTP API on {} (port {}); auth = sigv4 with {} key(s)", http,
                 ports->second, n.config().http_auth.keys.size());
  else if (!http.empty())
    spdlog::warn("SQS/SNS-compatible HTTP API on {} (port {}); auth = none: any access key is "
                 "taken",
                 http, ports->second);
  return endpoint;
}

client_endpoint::~client_endpoint() {
  if (impl_ && impl_->thread.joinable()) {
    if (impl_->stop)
      impl_->stop->fulfill();
    impl_->thread.join();
  }
}

} // namespace mailroom
