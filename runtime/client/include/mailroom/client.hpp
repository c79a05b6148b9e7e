// A synchronous client of a node's client endpoint (schemas/client.capnp), for the CLI, tools
// and tests. Not thread-safe: one client per thread. Each call blocks until the node answers.
// A node that cannot be reached gives errc::unavailable; a refusal gives the node's error code
// and message.
#pragma once

#include "mailroom/topic_types.hpp"
#include "mailroom/saga_types.hpp"
#include "mailroom/types.hpp"

#include <caf/expected.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mailroom {

class client {
public:
  /// Connects to "HOST:PORT", lazily: nothing crosses the wire until the first call, and a
  /// node that cannot be reached fails that call with errc::unavailable.
  static caf::expected<std::unique_ptr<client>> connect(const std::string& address);
  ~client();

  caf::error create_queue(const queue_config& config);
  caf::error delete_queue(const std::string& queue);
  caf::expected<std::vector<std::string>> list_queues();
  caf::expected<queue_stats> stats(const std::string& queue);
  /// All or none, as node::send.
  caf::expected<std::vector<std::string>> send(const std::string& queue,
                                               const std::vector<outgoing_message>& messages);
  /// Each message on its own, as node::send_each.
  caf::expected<std::vector<send_result>> send_each(const std::string& queue,
                                                    const std::vector<outgoing_message>& messages);
  caf::expected<std::vector<delivery>> receive(const std::string& queue,
                                               const receive_request& request);
  caf::expected<std::vector<ack_outcome>> ack(const std::string& queue,
                                              const std::vector<std::string>& receipts);
  caf::error nack(const std::string& queue, const nack_request& request);
  caf::error change_visibility(const std::string& queue, const std::string& receipt,
                               int64_t visibility_ms);
  caf::expected<uint64_t> purge(const std::string& queue);
  caf::expected<std::vector<dead_letter>> dead_letters(const std::string& sink, uint32_t max);
  caf::expected<redrive_result> redrive(const std::string& sink, const redrive_request& request);
  caf::expected<uint64_t> purge_dead_letters(const std::string& sink);

  caf::error create_topic(const std::string& name);
  caf::error delete_topic(const std::string& name);
  caf::expected<std::vector<std::string>> list_topics();
  caf::expected<std::pair<topic_config, topic_stats>> describe_topic(const std::string& name);
  caf::error subscribe(const std::string& topic, const subscription& sub);
  caf::error unsubscribe(const std::string& topic, const std::string& queue);
  caf::expected<std::vector<std::vector<trace_step>>> trace(const std::string& id,
                                                            uint32_t depth = 3);

  // Sagas (see node.hpp).
  caf::expected<std::string> start_saga(const std::string& definition, const std::string& data,
                                        const std::string& idempotency_key = {});
  caf::error cancel_saga(const std::string& id);
  caf::expected<std::vector<saga_summary>> sagas(const saga_filter& filter);
  /// The instance and the step names of its definition version (its timeline names steps by
  /// index).
  caf::expected<std::pair<saga_instance, std::vector<std::string>>> saga(const std::string& id);
  caf::expected<saga_metrics> saga_statistics(const std::string& definition = {});
  caf::expected<publish_result> publish(const std::string& topic,
                                        const std::vector<outgoing_message>& messages);

  struct impl; ///< opaque connection state

private:
  client() = default;
  std::unique_ptr<impl> impl_;
};

} // namespace mailroom
