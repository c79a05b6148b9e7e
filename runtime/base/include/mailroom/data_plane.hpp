// The data plane: what producers, consumers and operators do with a node's queues, topics,
// routers, dead-letter sinks and sagas, the same whether the node is embedded (mailroom::node)
// or across the network (mailroom::client). Code written against it runs on either; one
// conformance suite (tests/conformance) holds both to the same answers and the same errors.
// Creating and deleting entities is the catalog's business, not the data plane's. Default
// arguments are the same in every implementation.
//
// Every call blocks until the node answers: sends and publishes once durable, receives once
// messages are there or the long poll ends. Errors are caf::error values of mailroom::errc
// (error.hpp); an entity that does not exist gives unknown_queue (a queue) or
// not_found (a sink, topic, router or saga), naming it.
#pragma once

#include "mailroom/router_types.hpp"
#include "mailroom/saga_types.hpp"
#include "mailroom/topic_types.hpp"
#include "mailroom/types.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mailroom {

/// The most generations trace() follows, whatever depth is asked for.
constexpr uint32_t max_trace_depth = 10;

class data_plane {
public:
  virtual ~data_plane() = default;

  // Queues.
  /// All or none: the ids once the whole batch is durable, or why the batch was refused.
  virtual caf::expected<std::vector<std::string>>
  send(const std::string& queue, const std::vector<outgoing_message>& messages) = 0;
  /// Each message on its own (SQS SendMessageBatch): one result per message, in order, once the
  /// accepted ones are durable; a full queue takes the first that fit.
  virtual caf::expected<std::vector<send_result>>
  send_each(const std::string& queue, const std::vector<outgoing_message>& messages) = 0;
  virtual caf::expected<std::vector<delivery>> receive(const std::string& queue,
                                                       const receive_request& request) = 0;
  /// One outcome per receipt, in order; an unknown or expired receipt is an outcome, not an
  /// error of the call.
  virtual caf::expected<std::vector<ack_outcome>> ack(const std::string& queue,
                                                      const std::vector<std::string>& receipts) = 0;
  virtual caf::expected<std::vector<ack_outcome>>
  nack(const std::string& queue, const std::vector<nack_request>& requests) = 0;
  virtual caf::error change_visibility(const std::string& queue, const std::string& receipt,
                                       int64_t visibility_ms) = 0;
  virtual caf::expected<queue_stats> stats(const std::string& queue) = 0;
  virtual caf::expected<uint64_t> purge(const std::string& queue) = 0;

  // Topics and routers.
  /// Returns once every copy is durable in every matching subscriber queue (or none is).
  virtual caf::expected<publish_result> publish(const std::string& topic,
                                                const std::vector<outgoing_message>& messages) = 0;
  virtual caf::expected<topic_stats> topic_statistics(const std::string& topic) = 0;
  /// Returns once every target (and the sink, for unroutable messages) confirmed.
  virtual caf::expected<route_result> route(const std::string& router,
                                            const std::vector<outgoing_message>& messages) = 0;

  // Dead letters.
  virtual caf::expected<std::vector<dead_letter>> dead_letters(const std::string& sink,
                                                               uint32_t max) = 0;
  virtual caf::expected<redrive_result> redrive(const std::string& sink,
                                                const redrive_request& request) = 0;
  virtual caf::expected<uint64_t> purge_dead_letters(const std::string& sink) = 0;

  /// The story of message `id` (oldest step first), then, for each message it caused, that
  /// message's id and story, up to `depth` generations (at most max_trace_depth: each is a scan
  /// of the trace rows). Needs the node's `trace` option.
  virtual caf::expected<std::vector<std::vector<trace_step>>> trace(const std::string& id,
                                                                    uint32_t depth = 3) = 0;

  // Sagas.
  /// Starts an instance on the newest version with `data` (a JSON object) and returns its id
  /// once it is journaled. With an idempotency key, starting again returns the same instance.
  virtual caf::expected<std::string> start_saga(const std::string& definition,
                                                const std::string& data,
                                                const std::string& idempotency_key = {}) = 0;
  /// Cancels a running saga: it compensates the steps done (after the step in flight settles).
  virtual caf::error cancel_saga(const std::string& id) = 0;
  /// An instance as journaled: state, data and timeline.
  virtual caf::expected<saga_instance> saga(const std::string& id) = 0;
  virtual caf::expected<std::vector<saga_summary>> sagas(const saga_filter& filter) = 0;
  /// Metrics of one definition, or summed over all (empty name).
  virtual caf::expected<saga_metrics> saga_statistics(const std::string& definition = {}) = 0;
  /// A stored version of a definition (what names an instance's steps).
  virtual caf::expected<saga_definition> saga_definition_of(const std::string& name,
                                                            uint32_t version) = 0;
};

} // namespace mailroom
