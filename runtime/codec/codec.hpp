// Conversions between mailroom's value types and their Cap'n Proto records (schemas/). This is
// the one layer that sees generated camelCase code. Decoders treat their input as untrusted:
// bytes that do not decode give errc::corruption (journal) or the caller maps them to
// errc::invalid_argument (wire), never an exception.
#pragma once

#include "mailroom/alarm_types.hpp"
#include "mailroom/router_types.hpp"
#include "mailroom/saga_types.hpp"
#include "mailroom/topic_types.hpp"
#include "mailroom/types.hpp"

#include "client.capnp.h"
#include "envelope.capnp.h"
#include "journal.capnp.h"

#include <caf/expected.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace mailroom::codec {

/// `s` as Cap'n Proto text without measuring it again: the implicit conversion from std::string
/// goes through c_str() and strlen, which was 2 % of the endpoint's CPU.
inline capnp::Text::Reader as_text(const std::string& s) {
  return {s.c_str(), s.size()};
}

/// A change to one message, as journaled in schema::SegmentEvents.
struct message_event {
  uint64_t seq = 0;
  /// The same change to messages seq .. seq+count-1 (encode_events joins runs; decode_events
  /// returns them as journaled, and the reader keeps a range within its segment).
  uint32_t count = 1;
  bool removed = false;
  uint32_t receive_count = 0;
  int64_t visible_at_ms = 0;
  bool in_flight = false;
  int64_t first_failure_ms = 0;
  int64_t last_failure_ms = 0;
  std::string last_error;
};

/// The dedup keys of one send batch, as journaled in schema::DedupRecords.
struct dedup_records {
  int64_t expires_at_ms = 0;
  std::vector<std::pair<std::string, std::string>> entries; ///< key, original message id
};

std::string encode_dedup(const dedup_records& records);
caf::expected<dedup_records> decode_dedup(const std::string& blob);

/// One step in a message's story, as journaled in schema::TraceEvents. After a message's sent
/// or redriven step, which holds its id, its queue's later steps name it by `seq` (its place in
/// that queue) and leave `step.id` empty: reading the id back from a body that is no longer
/// cached, for every step, cost more than the step itself.
struct trace_event {
  trace_step step;
  uint64_t seq = 0; ///< 0: not in a queue (a topic's steps), `step.id` is set
  /// This same step for the consecutive seqs seq, seq+1, … (a batch received or acked
  /// together): journaled once; decode_trace hands them back one by one.
  uint32_t count = 1;
  /// A range of sent/redriven steps: the ids of seq+1, seq+2, … (`step.id` is seq's).
  std::vector<std::string> more_ids{};
};

/// Most steps one range may stand for when read back (a corrupt count must not amplify).
constexpr uint32_t max_trace_range = 1u << 20;

std::string encode_trace(const std::vector<trace_event>& events);
caf::expected<std::vector<trace_event>> decode_trace(const std::string& blob);

std::string encode_segment(const std::vector<envelope_ptr>& messages);
/// A segment of copies of a topic's publish: message i is message `shared[i]` of the
/// publication, whose fields (see schema::Segment) are left out here.
std::string encode_segment(const std::vector<envelope_ptr>& messages,
                           const std::vector<uint32_t>& shared);
/// What a publish's copies share (see schema::Publication), one entry per message.
std::string encode_publication(const std::vector<outgoing_message>& messages);
/// A segment, with the publication it names (empty when none) filled into its envelopes.
caf::expected<std::vector<envelope>> decode_segment(std::string_view blob,
                                                    std::string_view shared = {});

std::string encode_events(const std::vector<message_event>& events);
caf::expected<std::vector<message_event>> decode_events(const std::string& blob);

std::string encode_queue_config(const queue_config& config);
caf::expected<queue_config> decode_queue_config(const std::string& blob);

std::string encode_saga_definition(const saga_definition& definition);
caf::expected<saga_definition> decode_saga_definition(const std::string& blob);
void write(schema::SagaDefinition::Builder out, const saga_definition& in);
saga_definition read(schema::SagaDefinition::Reader in);
std::string encode_saga_instance(const saga_instance& instance);
void write(schema::SagaInstance::Builder out, const saga_instance& in);
caf::expected<saga_instance> read(schema::SagaInstance::Reader in);
void write(schema::SagaSummary::Builder out, const saga_summary& in);
saga_summary read(schema::SagaSummary::Reader in);
void write(schema::SagaStats::Builder out, const saga_metrics& in);
saga_metrics read(schema::SagaStats::Reader in);
caf::expected<saga_instance> decode_saga_instance(const std::string& blob);

void write(schema::AlarmConfig::Builder out, const alarm_config& in);
alarm_config read(schema::AlarmConfig::Reader in);
std::string encode_alarm_config(const alarm_config& config);
caf::expected<alarm_config> decode_alarm_config(const std::string& blob);

void write(schema::RouterConfig::Builder out, const router_config& in);
/// invalid_argument for a target that is not KIND:NAME (the wire; decode_router_config says
/// corruption for the journal's).
caf::expected<router_config> read(schema::RouterConfig::Reader in);
std::string encode_router_config(const router_config& config);
caf::expected<router_config> decode_router_config(const std::string& blob);

std::string encode_topic_config(const topic_config& config);
caf::expected<topic_config> decode_topic_config(const std::string& blob);

std::string encode_dead_letter(const dead_letter& record);
caf::expected<dead_letter> decode_dead_letter(const std::string& blob);

/// A Cap'n Proto text as a std::string.
std::string text(capnp::Text::Reader t);

// Builders and readers shared with the client endpoint.
void write(schema::Envelope::Builder out, const envelope& in);
envelope read(schema::Envelope::Reader in);
void write(schema::DeathRecord::Builder out, const death_record& in);
death_record read(schema::DeathRecord::Reader in);
void write(schema::QueueConfig::Builder out, const queue_config& in);
queue_config read(schema::QueueConfig::Reader in);
void write(capnp::List<schema::OutgoingMessage>::Builder out,
           const std::vector<outgoing_message>& in);
std::vector<outgoing_message> read(capnp::List<schema::OutgoingMessage>::Reader in);
void write(schema::TraceEvent::Builder out, const trace_step& in);
trace_step read(schema::TraceEvent::Reader in);
void write(schema::Subscription::Builder out, const subscription& in);
subscription read(schema::Subscription::Reader in);
void write(schema::TopicConfig::Builder out, const topic_config& in);
topic_config read(schema::TopicConfig::Reader in);
void write(schema::DeadLetter::Builder out, const dead_letter& in);
dead_letter read(schema::DeadLetter::Reader in);
void write(capnp::List<schema::Attribute>::Builder out, const attribute_list& in);
attribute_list read(capnp::List<schema::Attribute>::Reader in);
void write(schema::QueueStats::Builder out, const queue_stats& in);
queue_stats read(schema::QueueStats::Reader in);
void write(schema::AlarmState::Builder out, const alarm_status& in);
alarm_status read(schema::AlarmState::Reader in);
void write(schema::TopicStats::Builder out, const topic_stats& in);
topic_stats read(schema::TopicStats::Reader in);
void write(capnp::List<schema::NackRequest>::Builder out, const std::vector<nack_request>& in);
std::vector<nack_request> read(capnp::List<schema::NackRequest>::Reader in);
void write(capnp::List<schema::AckResult>::Builder out, const std::vector<ack_outcome>& in);
std::vector<ack_outcome> read(capnp::List<schema::AckResult>::Reader in);

} // namespace mailroom::codec
