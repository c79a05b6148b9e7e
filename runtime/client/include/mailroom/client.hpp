// A synchronous client of a node's client endpoint (schemas/client.capnp), for the CLI, tools
// and tests. Not thread-safe: one client per thread. Each call blocks until the node answers.
// A node that cannot be reached gives errc::unavailable; a refusal gives the node's error code
// and message. The calls are mailroom::data_plane's and mailroom::catalog's,
// documented there.
#pragma once

#include "mailroom/alarm_types.hpp"
#include "mailroom/catalog.hpp"
#include "mailroom/data_plane.hpp"
#include "mailroom/router_types.hpp"
#include "mailroom/saga_types.hpp"
#include "mailroom/topic_types.hpp"
#include "mailroom/types.hpp"

#include <caf/expected.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mailroom {

class client final : public data_plane, public catalog {
public:
  /// Connects to "HOST:PORT", lazily: nothing crosses the wire until the first call, and a
  /// node that cannot be reached fails that call with errc::unavailable.
  static caf::expected<std::unique_ptr<client>> connect(const std::string& address);
  ~client() override;

  // The catalog (catalog.hpp).
  caf::error create_queue(const queue_config& config) override;
  caf::error put_queue(const queue_config& config) override;
  caf::error delete_queue(const std::string& queue) override;
  caf::expected<std::vector<std::string>> list_queues() override;
  caf::expected<queue_config> queue_configuration(const std::string& queue) override;
  caf::error create_topic(const topic_config& config) override;
  caf::error delete_topic(const std::string& name) override;
  caf::expected<std::vector<std::string>> list_topics() override;
  caf::expected<topic_config> topic_configuration(const std::string& name) override;
  caf::error subscribe(const std::string& topic, const subscription& sub) override;
  caf::error unsubscribe(const std::string& topic, const std::string& queue) override;
  caf::error put_router(const router_config& config) override;
  caf::error delete_router(const std::string& name) override;
  caf::expected<std::vector<std::string>> list_routers() override;
  caf::expected<router_config> router_configuration(const std::string& name) override;
  caf::error put_alarm(const alarm_config& config) override;
  caf::error delete_alarm(const std::string& name) override;
  caf::expected<std::vector<std::string>> list_alarms() override;
  caf::expected<alarm_config> alarm_configuration(const std::string& name) override;
  caf::expected<alarm_status> alarm_state_of(const std::string& name) override;

  // The data plane (data_plane.hpp).
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
  caf::expected<uint64_t> purge(const std::string& queue) override;
  caf::expected<publish_result> publish(const std::string& topic,
                                        const std::vector<outgoing_message>& messages) override;
  caf::expected<topic_stats> topic_statistics(const std::string& topic) override;
  caf::expected<route_result> route(const std::string& router,
                                    const std::vector<outgoing_message>& messages) override;
  caf::expected<std::vector<dead_letter>> dead_letters(const std::string& sink,
                                                       uint32_t max) override;
  caf::expected<redrive_result> redrive(const std::string& sink,
                                        const redrive_request& request) override;
  caf::expected<uint64_t> purge_dead_letters(const std::string& sink) override;
  caf::expected<std::vector<std::vector<trace_step>>> trace(const std::string& id,
                                                            uint32_t depth = 3) override;
  caf::expected<std::string> start_saga(const std::string& definition, const std::string& data,
                                        const std::string& idempotency_key = {}) override;
  caf::error cancel_saga(const std::string& id) override;
  caf::expected<saga_instance> saga(const std::string& id) override;
  caf::expected<std::vector<saga_summary>> sagas(const saga_filter& filter) override;
  caf::expected<saga_metrics> saga_statistics(const std::string& definition = {}) override;
  caf::expected<saga_definition> saga_definition_of(const std::string& name,
                                                    uint32_t version) override;

  struct impl; ///< opaque connection state

private:
  client() = default;
  std::unique_ptr<impl> impl_;
};

} // namespace mailroom
