#include "mailroom/client.hpp"

#include "codec.hpp"
#include "mailroom/address.hpp"
#include "mailroom/error.hpp"

#include <capnp/ez-rpc.h>

namespace mailroom {

struct client::impl {
  std::string address;
  std::unique_ptr<capnp::EzRpcClient> rpc;
  schema::Node::Client node{nullptr};
};

namespace {

using codec::text;

caf::error status_error(schema::Status::Reader s) {
  if (s.getCode().size() == 0)
    return {};
  auto code = errc_from_string(text(s.getCode())).value_or(errc::unavailable);
  return make_error(code, text(s.getMessage()));
}

/// Opens the connection (again). No call is made: a node that cannot be reached fails the
/// first call with unavailable (the CLI's exit code 3), which costs no extra round trip.
void open_connection(client::impl& c) {
  c.node = nullptr; // the capability goes before the connection it lives on
  c.rpc.reset();
  capnp::ReaderOptions limits;
  limits.traversalLimitInWords = 64 * 1024 * 1024;
  c.rpc = std::make_unique<capnp::EzRpcClient>(c.address, default_client_port, limits);
  c.node = c.rpc->getMain<schema::Node>();
}

/// Runs one call; turns transport failures (refused, reset, malformed) into unavailable. A call
/// cut off by a lost connection (the node closes idle ones, see endpoint_limits.hpp) is tried
/// once more on a new connection, as the AWS SDKs retry: a send may then arrive twice, which a
/// dedup id makes harmless.
template <class F>
auto call(client::impl& c, F&& f) -> decltype(f()) {
  for (int attempt = 0;; ++attempt) {
    try {
      if (!c.rpc)
        open_connection(c);
      return f();
    } catch (const kj::Exception& e) {
      bool lost = e.getType() == kj::Exception::Type::DISCONNECTED;
      if (lost) { // reconnect on the next try
        c.node = nullptr;
        c.rpc.reset();
      }
      if (!lost || attempt > 0)
        return make_error(errc::unavailable,
                          "node " + c.address + " cannot be reached: " + e.getDescription().cStr());
    }
  }
}

using node_client = schema::Node::Client;

/// One RPC: `make` is the request's method on the node's capability, `fill` sets its parameters,
/// and `read` turns an answer whose status is ok into the result.
template <class T, class Make, class Fill, class Read>
caf::expected<T> rpc(client::impl& c, Make make, Fill fill, Read read) {
  return call(c, [&]() -> caf::expected<T> {
    auto req = (c.node.*make)(nullptr);
    fill(req);
    auto r = req.send().wait(c.rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    return read(r);
  });
}

/// An RPC that answers with its status only.
template <class Make, class Fill>
caf::error rpc(client::impl& c, Make make, Fill fill) {
  return call(c, [&]() -> caf::error {
    auto req = (c.node.*make)(nullptr);
    fill(req);
    return status_error(req.send().wait(c.rpc->getWaitScope()).getStatus());
  });
}

/// A listing of names (listQueues, listTopics, ...).
template <class Make>
caf::expected<std::vector<std::string>> names(client::impl& c, Make make) {
  return rpc<std::vector<std::string>>(
      c, make, [](auto&) {},
      [](auto& r) {
        std::vector<std::string> out;
        for (auto n : r.getNames())
          out.push_back(text(n));
        return out;
      });
}

} // namespace

client::~client() = default;

caf::expected<std::unique_ptr<client>> client::connect(const std::string& address) {
  std::unique_ptr<client> c{new client()};
  c->impl_ = std::make_unique<impl>();
  c->impl_->address = address;
  try {
    open_connection(*c->impl_);
  } catch (const kj::Exception& e) {
    return make_error(errc::unavailable,
                      "node " + address + " cannot be reached: " + e.getDescription().cStr());
  }
  return c;
}

caf::error client::create_queue(const queue_config& config) {
  return rpc(*impl_, &node_client::createQueueRequest,
             [&](auto& req) { codec::write(req.initConfig(), config); });
}

caf::error client::put_queue(const queue_config& config) {
  return rpc(*impl_, &node_client::putQueueRequest,
             [&](auto& req) { codec::write(req.initConfig(), config); });
}

caf::expected<queue_config> client::queue_configuration(const std::string& queue) {
  return rpc<queue_config>(
      *impl_, &node_client::queueConfigRequest, [&](auto& req) { req.setQueue(queue); },
      [&](auto& r) -> caf::expected<queue_config> { return codec::read(r.getConfig()); });
}

caf::error client::delete_queue(const std::string& queue) {
  return rpc(*impl_, &node_client::deleteQueueRequest, [&](auto& req) { req.setQueue(queue); });
}

caf::expected<std::vector<std::string>> client::list_queues() {
  return names(*impl_, &node_client::listQueuesRequest);
}

caf::expected<queue_stats> client::stats(const std::string& queue) {
  return rpc<queue_stats>(
      *impl_, &node_client::queueStatsRequest, [&](auto& req) { req.setQueue(queue); },
      [&](auto& r) -> caf::expected<queue_stats> { return codec::read(r.getStats()); });
}

caf::expected<std::vector<std::string>> client::send(const std::string& queue,
                                                     const std::vector<outgoing_message>& batch) {
  return rpc<std::vector<std::string>>(
      *impl_, &node_client::sendRequest,
      [&](auto& req) {
        req.setQueue(queue);
        codec::write(req.initMessages(batch.size()), batch);
      },
      [&](auto& r) -> caf::expected<std::vector<std::string>> {
        std::vector<std::string> ids;
        for (auto id : r.getIds())
          ids.push_back(text(id));
        return ids;
      });
}

caf::expected<std::vector<send_result>>
client::send_each(const std::string& queue, const std::vector<outgoing_message>& batch) {
  return rpc<std::vector<send_result>>(
      *impl_, &node_client::sendRequest,
      [&](auto& req) {
        req.setQueue(queue);
        req.setEach(true);
        codec::write(req.initMessages(batch.size()), batch);
      },
      [&](auto& r) -> caf::expected<std::vector<send_result>> {
        std::vector<send_result> out;
        auto refusals = r.getRefusals();
        for (unsigned i = 0; i < r.getIds().size(); ++i) {
          send_result s;
          s.id = text(r.getIds()[i]);
          if (i < refusals.size()) {
            s.error_code = text(refusals[i].getCode());
            s.error_message = text(refusals[i].getMessage());
          }
          out.push_back(std::move(s));
        }
        return out;
      });
}

caf::expected<std::vector<delivery>> client::receive(const std::string& queue,
                                                     const receive_request& request) {
  return rpc<std::vector<delivery>>(
      *impl_, &node_client::receiveRequest,
      [&](auto& req) {
        req.setQueue(queue);
        req.setMax(request.max);
        req.setWaitMs(request.wait_ms);
        req.setVisibilityMs(request.visibility_ms);
      },
      [&](auto& r) -> caf::expected<std::vector<delivery>> {
        std::vector<delivery> out;
        for (auto m : r.getMessages())
          out.push_back({std::make_shared<const envelope>(codec::read(m.getEnvelope())),
                         text(m.getReceipt()), m.getReceiveCount()});
        return out;
      });
}

caf::expected<std::vector<ack_outcome>> client::ack(const std::string& queue,
                                                    const std::vector<std::string>& receipts) {
  return rpc<std::vector<ack_outcome>>(
      *impl_, &node_client::ackRequest,
      [&](auto& req) {
        req.setQueue(queue);
        auto list = req.initReceipts(receipts.size());
        for (unsigned i = 0; i < receipts.size(); ++i)
          list.set(i, receipts[i]);
      },
      [&](auto& r) -> caf::expected<std::vector<ack_outcome>> {
        return codec::read(r.getResults());
      });
}

caf::expected<std::vector<ack_outcome>> client::nack(const std::string& queue,
                                                     const std::vector<nack_request>& requests) {
  return rpc<std::vector<ack_outcome>>(
      *impl_, &node_client::nackRequest,
      [&](auto& req) {
        req.setQueue(queue);
        codec::write(req.initRequests(requests.size()), requests);
      },
      [&](auto& r) -> caf::expected<std::vector<ack_outcome>> {
        return codec::read(r.getResults());
      });
}

caf::error client::change_visibility(const std::string& queue, const std::string& receipt,
                                     int64_t visibility_ms) {
  return rpc(*impl_, &node_client::changeVisibilityRequest, [&](auto& req) {
    req.setQueue(queue);
    req.setReceipt(receipt);
    req.setVisibilityMs(visibility_ms);
  });
}

caf::expected<uint64_t> client::purge(const std::string& queue) {
  return rpc<uint64_t>(
      *impl_, &node_client::purgeQueueRequest, [&](auto& req) { req.setQueue(queue); },
      [&](auto& r) -> caf::expected<uint64_t> { return r.getPurged(); });
}

caf::expected<std::vector<dead_letter>> client::dead_letters(const std::string& sink,
                                                             uint32_t max) {
  return rpc<std::vector<dead_letter>>(
      *impl_, &node_client::deadLettersRequest,
      [&](auto& req) {
        req.setSink(sink);
        req.setMax(max);
      },
      [&](auto& r) -> caf::expected<std::vector<dead_letter>> {
        std::vector<dead_letter> out;
        for (auto d : r.getRecords())
          out.push_back(codec::read(d));
        return out;
      });
}

caf::expected<redrive_result> client::redrive(const std::string& sink,
                                              const redrive_request& request) {
  return rpc<redrive_result>(
      *impl_, &node_client::redriveRequest,
      [&](auto& req) {
        req.setSink(sink);
        auto f = req.initFilter();
        f.setReason(request.filter.reason);
        f.setSource(request.filter.source);
        f.setAttributeKey(request.filter.attribute_key);
        f.setAttributeValue(request.filter.attribute_value);
        f.setErrorContains(request.filter.error_contains);
        req.setTo(request.to);
        req.setRatePerSecond(request.rate_per_s);
        req.setDryRun(request.dry_run);
      },
      [&](auto& r) -> caf::expected<redrive_result> {
        redrive_result out;
        out.moved = r.getMoved();
        for (auto id : r.getIds())
          out.ids.push_back(text(id));
        return out;
      });
}

caf::expected<uint64_t> client::purge_dead_letters(const std::string& sink) {
  return rpc<uint64_t>(
      *impl_, &node_client::purgeDeadLettersRequest, [&](auto& req) { req.setSink(sink); },
      [&](auto& r) -> caf::expected<uint64_t> { return r.getPurged(); });
}

caf::error client::create_topic(const topic_config& config) {
  return rpc(*impl_, &node_client::createTopicRequest,
             [&](auto& req) { codec::write(req.initConfig(), config); });
}

caf::error client::delete_topic(const std::string& name) {
  return rpc(*impl_, &node_client::deleteTopicRequest, [&](auto& req) { req.setName(name); });
}

caf::expected<std::vector<std::string>> client::list_topics() {
  return names(*impl_, &node_client::listTopicsRequest);
}

namespace {

/// describeTopic answers with both; each interface call takes its half.
caf::expected<std::pair<topic_config, topic_stats>> describe_topic(client::impl& c,
                                                                   const std::string& name) {
  return rpc<std::pair<topic_config, topic_stats>>(
      c, &node_client::describeTopicRequest, [&](auto& req) { req.setName(name); },
      [](auto& r) {
        return std::make_pair(codec::read(r.getConfig()), codec::read(r.getStats()));
      });
}

} // namespace

caf::expected<topic_config> client::topic_configuration(const std::string& name) {
  auto described = describe_topic(*impl_, name);
  if (!described)
    return std::move(described.error());
  return std::move(described->first);
}

caf::error client::put_router(const router_config& config) {
  return rpc(*impl_, &node_client::putRouterRequest,
             [&](auto& req) { codec::write(req.initConfig(), config); });
}

caf::error client::delete_router(const std::string& name) {
  return rpc(*impl_, &node_client::deleteRouterRequest, [&](auto& req) { req.setName(name); });
}

caf::expected<std::vector<std::string>> client::list_routers() {
  return names(*impl_, &node_client::listRoutersRequest);
}

caf::expected<router_config> client::router_configuration(const std::string& name) {
  return rpc<router_config>(
      *impl_, &node_client::showRouterRequest, [&](auto& req) { req.setName(name); },
      [&](auto& r) -> caf::expected<router_config> { return codec::read(r.getConfig()); });
}

caf::error client::put_alarm(const alarm_config& config) {
  return rpc(*impl_, &node_client::putAlarmRequest,
             [&](auto& req) { codec::write(req.initConfig(), config); });
}

caf::error client::delete_alarm(const std::string& name) {
  return rpc(*impl_, &node_client::deleteAlarmRequest, [&](auto& req) { req.setName(name); });
}

caf::expected<std::vector<std::string>> client::list_alarms() {
  return names(*impl_, &node_client::listAlarmsRequest);
}

namespace {

/// showAlarm answers with both; each interface call takes its half.
caf::expected<std::pair<alarm_config, alarm_status>> describe_alarm(client::impl& c,
                                                                    const std::string& name) {
  return rpc<std::pair<alarm_config, alarm_status>>(
      c, &node_client::showAlarmRequest, [&](auto& req) { req.setName(name); },
      [](auto& r) {
        return std::make_pair(codec::read(r.getConfig()), codec::read(r.getState()));
      });
}

} // namespace

caf::expected<alarm_config> client::alarm_configuration(const std::string& name) {
  auto described = describe_alarm(*impl_, name);
  if (!described)
    return std::move(described.error());
  return std::move(described->first);
}

caf::expected<alarm_status> client::alarm_state_of(const std::string& name) {
  auto described = describe_alarm(*impl_, name);
  if (!described)
    return std::move(described.error());
  return std::move(described->second);
}

caf::expected<topic_stats> client::topic_statistics(const std::string& topic) {
  auto described = describe_topic(*impl_, topic);
  if (!described)
    return std::move(described.error());
  return std::move(described->second);
}

caf::error client::subscribe(const std::string& topic, const subscription& sub) {
  return rpc(*impl_, &node_client::subscribeRequest, [&](auto& req) {
    req.setTopic(topic);
    codec::write(req.initSubscription(), sub);
  });
}

caf::error client::unsubscribe(const std::string& topic, const std::string& queue) {
  return rpc(*impl_, &node_client::unsubscribeRequest, [&](auto& req) {
    req.setTopic(topic);
    req.setQueue(queue);
  });
}

caf::expected<publish_result> client::publish(const std::string& topic,
                                              const std::vector<outgoing_message>& batch) {
  return rpc<publish_result>(
      *impl_, &node_client::publishRequest,
      [&](auto& req) {
        req.setTopic(topic);
        codec::write(req.initMessages(batch.size()), batch);
      },
      [&](auto& r) -> caf::expected<publish_result> {
        publish_result out;
        for (auto id : r.getIds())
          out.ids.push_back(text(id));
        out.deliveries = r.getDeliveries();
        out.unmatched = r.getUnmatched();
        out.dead_lettered = r.getDeadLettered();
        return out;
      });
}

caf::expected<std::vector<std::vector<trace_step>>> client::trace(const std::string& id,
                                                                  uint32_t depth) {
  return rpc<std::vector<std::vector<trace_step>>>(
      *impl_, &node_client::traceRequest,
      [&](auto& req) {
        req.setId(id);
        req.setDepth(depth);
      },
      [&](auto& r) -> caf::expected<std::vector<std::vector<trace_step>>> {
        std::vector<std::vector<trace_step>> out;
        for (auto story : r.getStories()) {
          auto& steps = out.emplace_back();
          for (auto step : story.getSteps())
            steps.push_back(codec::read(step));
        }
        return out;
      });
}

caf::expected<std::string> client::start_saga(const std::string& definition,
                                              const std::string& data,
                                              const std::string& idempotency_key) {
  return rpc<std::string>(
      *impl_, &node_client::startSagaRequest,
      [&](auto& req) {
        req.setDefinition(definition);
        req.setData(data);
        req.setIdempotencyKey(idempotency_key);
      },
      [&](auto& r) -> caf::expected<std::string> { return codec::text(r.getId()); });
}

caf::error client::cancel_saga(const std::string& id) {
  return rpc(*impl_, &node_client::cancelSagaRequest, [&](auto& req) { req.setId(id); });
}

caf::expected<std::vector<saga_summary>> client::sagas(const saga_filter& filter) {
  return rpc<std::vector<saga_summary>>(
      *impl_, &node_client::listSagasRequest,
      [&](auto& req) {
        if (filter.status)
          req.setStatus(std::string{to_string(*filter.status)});
        req.setDefinition(filter.definition);
        req.setMax(filter.max);
      },
      [&](auto& r) -> caf::expected<std::vector<saga_summary>> {
        std::vector<saga_summary> out;
        for (auto s : r.getSagas())
          out.push_back(codec::read(s));
        return out;
      });
}

caf::expected<saga_instance> client::saga(const std::string& id) {
  return rpc<saga_instance>(
      *impl_, &node_client::showSagaRequest, [&](auto& req) { req.setId(id); },
      [&](auto& r) -> caf::expected<saga_instance> {
        auto inst = codec::read(r.getInstance());
        if (!inst)
          return make_error(errc::invalid_argument,
                            "the node sent a bad saga: " + message_of(inst.error()));
        return std::move(*inst);
      });
}

caf::expected<saga_definition> client::saga_definition_of(const std::string& name,
                                                          uint32_t version) {
  return rpc<saga_definition>(
      *impl_, &node_client::sagaDefinitionRequest,
      [&](auto& req) {
        req.setName(name);
        req.setVersion(version);
      },
      [&](auto& r) -> caf::expected<saga_definition> { return codec::read(r.getDefinition()); });
}

caf::expected<route_result> client::route(const std::string& router,
                                          const std::vector<outgoing_message>& messages) {
  return rpc<route_result>(
      *impl_, &node_client::routeRequest,
      [&](auto& req) {
        req.setRouter(router);
        codec::write(req.initMessages(messages.size()), messages);
      },
      [&](auto& r) -> caf::expected<route_result> {
        return route_result{r.getRouted(), r.getUnroutable(), r.getCopies()};
      });
}

caf::expected<saga_metrics> client::saga_statistics(const std::string& definition) {
  return rpc<saga_metrics>(
      *impl_, &node_client::sagaStatsRequest, [&](auto& req) { req.setDefinition(definition); },
      [&](auto& r) -> caf::expected<saga_metrics> { return codec::read(r.getStats()); });
}

} // namespace mailroom
