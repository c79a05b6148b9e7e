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

/// The names of a list call's response (listQueues, listTopics).
template <class Response>
caf::expected<std::vector<std::string>> names_of(Response&& r) {
  if (auto err = status_error(r.getStatus()))
    return err;
  std::vector<std::string> out;
  for (auto n : r.getNames())
    out.push_back(text(n));
  return out;
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
  return call(*impl_, [&]() -> caf::error {
    auto req = impl_->node.createQueueRequest();
    codec::write(req.initConfig(), config);
    return status_error(req.send().wait(impl_->rpc->getWaitScope()).getStatus());
  });
}

caf::error client::put_queue(const queue_config& config) {
  return call(*impl_, [&]() -> caf::error {
    auto req = impl_->node.putQueueRequest();
    codec::write(req.initConfig(), config);
    return status_error(req.send().wait(impl_->rpc->getWaitScope()).getStatus());
  });
}

caf::expected<queue_config> client::queue_configuration(const std::string& queue) {
  return call(*impl_, [&]() -> caf::expected<queue_config> {
    auto req = impl_->node.queueConfigRequest();
    req.setQueue(queue);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    return codec::read(r.getConfig());
  });
}

caf::error client::delete_queue(const std::string& queue) {
  return call(*impl_, [&]() -> caf::error {
    auto req = impl_->node.deleteQueueRequest();
    req.setQueue(queue);
    return status_error(req.send().wait(impl_->rpc->getWaitScope()).getStatus());
  });
}

caf::expected<std::vector<std::string>> client::list_queues() {
  return call(*impl_, [&]() -> caf::expected<std::vector<std::string>> {
    return names_of(impl_->node.listQueuesRequest().send().wait(impl_->rpc->getWaitScope()));
  });
}

caf::expected<queue_stats> client::stats(const std::string& queue) {
  return call(*impl_, [&]() -> caf::expected<queue_stats> {
    auto req = impl_->node.queueStatsRequest();
    req.setQueue(queue);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    return codec::read(r.getStats());
  });
}

caf::expected<std::vector<std::string>> client::send(const std::string& queue,
                                                     const std::vector<outgoing_message>& batch) {
  return call(*impl_, [&]() -> caf::expected<std::vector<std::string>> {
    auto req = impl_->node.sendRequest();
    req.setQueue(queue);
    codec::write(req.initMessages(batch.size()), batch);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    std::vector<std::string> ids;
    for (auto id : r.getIds())
      ids.push_back(text(id));
    return ids;
  });
}

caf::expected<std::vector<send_result>>
client::send_each(const std::string& queue, const std::vector<outgoing_message>& batch) {
  return call(*impl_, [&]() -> caf::expected<std::vector<send_result>> {
    auto req = impl_->node.sendRequest();
    req.setQueue(queue);
    req.setEach(true);
    codec::write(req.initMessages(batch.size()), batch);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
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
  return call(*impl_, [&]() -> caf::expected<std::vector<delivery>> {
    auto req = impl_->node.receiveRequest();
    req.setQueue(queue);
    req.setMax(request.max);
    req.setWaitMs(request.wait_ms);
    req.setVisibilityMs(request.visibility_ms);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    std::vector<delivery> out;
    for (auto m : r.getMessages())
      out.push_back({std::make_shared<const envelope>(codec::read(m.getEnvelope())),
                     text(m.getReceipt()), m.getReceiveCount()});
    return out;
  });
}

caf::expected<std::vector<ack_outcome>> client::ack(const std::string& queue,
                                                    const std::vector<std::string>& receipts) {
  return call(*impl_, [&]() -> caf::expected<std::vector<ack_outcome>> {
    auto req = impl_->node.ackRequest();
    req.setQueue(queue);
    auto list = req.initReceipts(receipts.size());
    for (unsigned i = 0; i < receipts.size(); ++i)
      list.set(i, receipts[i]);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    return codec::read(r.getResults());
  });
}

caf::expected<std::vector<ack_outcome>> client::nack(const std::string& queue,
                                                     const std::vector<nack_request>& requests) {
  return call(*impl_, [&]() -> caf::expected<std::vector<ack_outcome>> {
    auto req = impl_->node.nackRequest();
    req.setQueue(queue);
    codec::write(req.initRequests(requests.size()), requests);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    return codec::read(r.getResults());
  });
}

caf::error client::change_visibility(const std::string& queue, const std::string& receipt,
                                     int64_t visibility_ms) {
  return call(*impl_, [&]() -> caf::error {
    auto req = impl_->node.changeVisibilityRequest();
    req.setQueue(queue);
    req.setReceipt(receipt);
    req.setVisibilityMs(visibility_ms);
    return status_error(req.send().wait(impl_->rpc->getWaitScope()).getStatus());
  });
}

caf::expected<uint64_t> client::purge(const std::string& queue) {
  return call(*impl_, [&]() -> caf::expected<uint64_t> {
    auto req = impl_->node.purgeQueueRequest();
    req.setQueue(queue);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    return r.getPurged();
  });
}

caf::expected<std::vector<dead_letter>> client::dead_letters(const std::string& sink,
                                                             uint32_t max) {
  return call(*impl_, [&]() -> caf::expected<std::vector<dead_letter>> {
    auto req = impl_->node.deadLettersRequest();
    req.setSink(sink);
    req.setMax(max);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    std::vector<dead_letter> out;
    for (auto d : r.getRecords())
      out.push_back(codec::read(d));
    return out;
  });
}

caf::expected<redrive_result> client::redrive(const std::string& sink,
                                              const redrive_request& request) {
  return call(*impl_, [&]() -> caf::expected<redrive_result> {
    auto req = impl_->node.redriveRequest();
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
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    redrive_result out;
    out.moved = r.getMoved();
    for (auto id : r.getIds())
      out.ids.push_back(text(id));
    return out;
  });
}

caf::expected<uint64_t> client::purge_dead_letters(const std::string& sink) {
  return call(*impl_, [&]() -> caf::expected<uint64_t> {
    auto req = impl_->node.purgeDeadLettersRequest();
    req.setSink(sink);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    return r.getPurged();
  });
}

caf::error client::create_topic(const topic_config& config) {
  return call(*impl_, [&]() -> caf::error {
    auto req = impl_->node.createTopicRequest();
    codec::write(req.initConfig(), config);
    return status_error(req.send().wait(impl_->rpc->getWaitScope()).getStatus());
  });
}

caf::error client::delete_topic(const std::string& name) {
  return call(*impl_, [&]() -> caf::error {
    auto req = impl_->node.deleteTopicRequest();
    req.setName(name);
    return status_error(req.send().wait(impl_->rpc->getWaitScope()).getStatus());
  });
}

caf::expected<std::vector<std::string>> client::list_topics() {
  return call(*impl_, [&]() -> caf::expected<std::vector<std::string>> {
    return names_of(impl_->node.listTopicsRequest().send().wait(impl_->rpc->getWaitScope()));
  });
}

namespace {

/// describeTopic answers with both; each interface call takes its half.
caf::expected<std::pair<topic_config, topic_stats>> describe_topic(client::impl& c,
                                                                   const std::string& name) {
  return call(c, [&]() -> caf::expected<std::pair<topic_config, topic_stats>> {
    auto req = c.node.describeTopicRequest();
    req.setName(name);
    auto r = req.send().wait(c.rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
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
  return call(*impl_, [&]() -> caf::error {
    auto req = impl_->node.putRouterRequest();
    codec::write(req.initConfig(), config);
    return status_error(req.send().wait(impl_->rpc->getWaitScope()).getStatus());
  });
}

caf::error client::delete_router(const std::string& name) {
  return call(*impl_, [&]() -> caf::error {
    auto req = impl_->node.deleteRouterRequest();
    req.setName(name);
    return status_error(req.send().wait(impl_->rpc->getWaitScope()).getStatus());
  });
}

caf::expected<std::vector<std::string>> client::list_routers() {
  return call(*impl_, [&]() -> caf::expected<std::vector<std::string>> {
    return names_of(impl_->node.listRoutersRequest().send().wait(impl_->rpc->getWaitScope()));
  });
}

caf::expected<router_config> client::router_configuration(const std::string& name) {
  return call(*impl_, [&]() -> caf::expected<router_config> {
    auto req = impl_->node.showRouterRequest();
    req.setName(name);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    return codec::read(r.getConfig());
  });
}

caf::error client::put_alarm(const alarm_config& config) {
  return call(*impl_, [&]() -> caf::error {
    auto req = impl_->node.putAlarmRequest();
    codec::write(req.initConfig(), config);
    return status_error(req.send().wait(impl_->rpc->getWaitScope()).getStatus());
  });
}

caf::error client::delete_alarm(const std::string& name) {
  return call(*impl_, [&]() -> caf::error {
    auto req = impl_->node.deleteAlarmRequest();
    req.setName(name);
    return status_error(req.send().wait(impl_->rpc->getWaitScope()).getStatus());
  });
}

caf::expected<std::vector<std::string>> client::list_alarms() {
  return call(*impl_, [&]() -> caf::expected<std::vector<std::string>> {
    return names_of(impl_->node.listAlarmsRequest().send().wait(impl_->rpc->getWaitScope()));
  });
}

namespace {

/// showAlarm answers with both; each interface call takes its half.
caf::expected<std::pair<alarm_config, alarm_status>> describe_alarm(client::impl& c,
                                                                    const std::string& name) {
  return call(c, [&]() -> caf::expected<std::pair<alarm_config, alarm_status>> {
    auto req = c.node.showAlarmRequest();
    req.setName(name);
    auto r = req.send().wait(c.rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
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
  return call(*impl_, [&]() -> caf::error {
    auto req = impl_->node.subscribeRequest();
    req.setTopic(topic);
    codec::write(req.initSubscription(), sub);
    return status_error(req.send().wait(impl_->rpc->getWaitScope()).getStatus());
  });
}

caf::error client::unsubscribe(const std::string& topic, const std::string& queue) {
  return call(*impl_, [&]() -> caf::error {
    auto req = impl_->node.unsubscribeRequest();
    req.setTopic(topic);
    req.setQueue(queue);
    return status_error(req.send().wait(impl_->rpc->getWaitScope()).getStatus());
  });
}

caf::expected<publish_result> client::publish(const std::string& topic,
                                              const std::vector<outgoing_message>& batch) {
  return call(*impl_, [&]() -> caf::expected<publish_result> {
    auto req = impl_->node.publishRequest();
    req.setTopic(topic);
    codec::write(req.initMessages(batch.size()), batch);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
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
  return call(*impl_, [&]() -> caf::expected<std::vector<std::vector<trace_step>>> {
    auto req = impl_->node.traceRequest();
    req.setId(id);
    req.setDepth(depth);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
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
  return call(*impl_, [&]() -> caf::expected<std::string> {
    auto req = impl_->node.startSagaRequest();
    req.setDefinition(definition);
    req.setData(data);
    req.setIdempotencyKey(idempotency_key);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    return codec::text(r.getId());
  });
}

caf::error client::cancel_saga(const std::string& id) {
  return call(*impl_, [&]() -> caf::error {
    auto req = impl_->node.cancelSagaRequest();
    req.setId(id);
    return status_error(req.send().wait(impl_->rpc->getWaitScope()).getStatus());
  });
}

caf::expected<std::vector<saga_summary>> client::sagas(const saga_filter& filter) {
  return call(*impl_, [&]() -> caf::expected<std::vector<saga_summary>> {
    auto req = impl_->node.listSagasRequest();
    if (filter.status)
      req.setStatus(std::string{to_string(*filter.status)});
    req.setDefinition(filter.definition);
    req.setMax(filter.max);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    std::vector<saga_summary> out;
    for (auto s : r.getSagas())
      out.push_back(codec::read(s));
    return out;
  });
}

caf::expected<saga_instance> client::saga(const std::string& id) {
  return call(*impl_, [&]() -> caf::expected<saga_instance> {
    auto req = impl_->node.showSagaRequest();
    req.setId(id);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    auto inst = codec::read(r.getInstance());
    if (!inst)
      return make_error(errc::invalid_argument,
                        "the node sent a bad saga: " + message_of(inst.error()));
    return std::move(*inst);
  });
}

caf::expected<saga_definition> client::saga_definition_of(const std::string& name,
                                                          uint32_t version) {
  return call(*impl_, [&]() -> caf::expected<saga_definition> {
    auto req = impl_->node.sagaDefinitionRequest();
    req.setName(name);
    req.setVersion(version);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    return codec::read(r.getDefinition());
  });
}

caf::expected<route_result> client::route(const std::string& router,
                                          const std::vector<outgoing_message>& messages) {
  return call(*impl_, [&]() -> caf::expected<route_result> {
    auto req = impl_->node.routeRequest();
    req.setRouter(router);
    codec::write(req.initMessages(messages.size()), messages);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    return route_result{r.getRouted(), r.getUnroutable(), r.getCopies()};
  });
}

caf::expected<saga_metrics> client::saga_statistics(const std::string& definition) {
  return call(*impl_, [&]() -> caf::expected<saga_metrics> {
    auto req = impl_->node.sagaStatsRequest();
    req.setDefinition(definition);
    auto r = req.send().wait(impl_->rpc->getWaitScope());
    if (auto err = status_error(r.getStatus()))
      return err;
    return codec::read(r.getStats());
  });
}

} // namespace mailroom
