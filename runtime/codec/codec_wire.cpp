// The client endpoint's own records (schemas/client.capnp) <-> values: what crosses the wire
// and is never journaled.
#include "codec.hpp"

namespace mailroom::codec {

void write(schema::QueueStats::Builder out, const queue_stats& in) {
  out.setName(in.name);
  out.setVisible(in.visible);
  out.setInFlight(in.in_flight);
  out.setDelayed(in.delayed);
  out.setOldestAgeMs(in.oldest_age_ms);
  out.setSent(in.sent);
  out.setReceived(in.received);
  out.setAcked(in.acked);
  out.setDeadLettered(in.dead_lettered);
}

queue_stats read(schema::QueueStats::Reader in) {
  return {text(in.getName()), in.getVisible(),     in.getInFlight(),
          in.getDelayed(),    in.getOldestAgeMs(), in.getSent(),
          in.getReceived(),   in.getAcked(),       in.getDeadLettered()};
}

void write(schema::AlarmState::Builder out, const alarm_status& in) {
  out.setName(in.name);
  out.setFiring(in.firing);
  out.setValue(in.value);
  out.setSinceMs(in.since_ms);
}

alarm_status read(schema::AlarmState::Reader in) {
  return {text(in.getName()), in.getFiring(), in.getValue(), in.getSinceMs()};
}

void write(schema::TopicStats::Builder out, const topic_stats& in) {
  out.setName(in.name);
  out.setSubscriptions(in.subscriptions);
  out.setPublished(in.published);
  out.setDeliveries(in.deliveries);
  out.setUnmatched(in.unmatched);
  out.setDeadLettered(in.dead_lettered);
}

topic_stats read(schema::TopicStats::Reader in) {
  return {text(in.getName()), in.getSubscriptions(), in.getPublished(),
          in.getDeliveries(), in.getUnmatched(),     in.getDeadLettered()};
}

void write(capnp::List<schema::NackRequest>::Builder out, const std::vector<nack_request>& in) {
  for (unsigned i = 0; i < out.size(); ++i) {
    out[i].setReceipt(as_text(in[i].receipt));
    out[i].setRetryAfterMs(in[i].retry_after_ms);
    out[i].setDeadLetterReason(in[i].dead_letter_reason);
    out[i].setError(in[i].error);
  }
}

std::vector<nack_request> read(capnp::List<schema::NackRequest>::Reader in) {
  std::vector<nack_request> out;
  out.reserve(in.size());
  for (auto r : in)
    out.push_back({text(r.getReceipt()), r.getRetryAfterMs(), text(r.getDeadLetterReason()),
                   text(r.getError())});
  return out;
}

void write(capnp::List<schema::AckResult>::Builder out, const std::vector<ack_outcome>& in) {
  for (unsigned i = 0; i < out.size(); ++i) {
    out[i].setReceipt(as_text(in[i].receipt));
    if (!in[i].error_code.empty()) {
      auto s = out[i].initStatus();
      s.setCode(in[i].error_code);
      s.setMessage(in[i].error_message);
    }
  }
}

std::vector<ack_outcome> read(capnp::List<schema::AckResult>::Reader in) {
  std::vector<ack_outcome> out;
  out.reserve(in.size());
  for (auto a : in)
    out.push_back(
        {text(a.getReceipt()), text(a.getStatus().getCode()), text(a.getStatus().getMessage())});
  return out;
}

} // namespace mailroom::codec
