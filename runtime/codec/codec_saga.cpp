// Saga definitions and instances <-> schema::SagaDefinition / schema::SagaInstance.
#include "codec.hpp"
#include "codec_detail.hpp"

namespace mailroom::codec {

namespace {

void write(schema::SagaRetry::Builder out, const saga_retry& in) {
  out.setMaxAttempts(in.max_attempts);
  out.setBaseMs(in.base_ms);
  out.setFactor(in.factor);
  out.setCapMs(in.cap_ms);
}

saga_retry read(schema::SagaRetry::Reader in) {
  return {in.getMaxAttempts(), in.getBaseMs(), in.getFactor(), in.getCapMs()};
}

} // namespace

void write(schema::SagaDefinition::Builder root, const saga_definition& d) {
  root.setName(d.name);
  root.setVersion(d.version);
  root.setAlarmTopic(d.alarm_topic);
  auto steps = root.initSteps(static_cast<unsigned>(d.steps.size()));
  for (unsigned i = 0; i < steps.size(); ++i) {
    const auto& s = d.steps[i];
    steps[i].setName(s.name);
    steps[i].setQueue(s.queue);
    steps[i].setCommand(s.command);
    steps[i].setCompensation(s.compensation);
    steps[i].setCompensationQueue(s.compensation_queue);
    steps[i].setTimeoutMs(s.timeout_ms);
    write(steps[i].initRetry(), s.retry);
    write(steps[i].initCompensationRetry(), s.compensation_retry);
  }
}

saga_definition read(schema::SagaDefinition::Reader r) {
  saga_definition d;
  d.name = text(r.getName());
  d.version = r.getVersion();
  d.alarm_topic = text(r.getAlarmTopic());
  for (auto s : r.getSteps())
    d.steps.push_back({text(s.getName()), text(s.getQueue()), text(s.getCommand()),
                       text(s.getCompensation()), text(s.getCompensationQueue()), s.getTimeoutMs(),
                       read(s.getRetry()), read(s.getCompensationRetry())});
  return d;
}

std::string encode_saga_definition(const saga_definition& d) {
  capnp::MallocMessageBuilder message;
  write(message.initRoot<schema::SagaDefinition>(), d);
  return to_string(message);
}

caf::expected<saga_definition> decode_saga_definition(const std::string& blob) {
  return decode<schema::SagaDefinition>(blob, "saga definition",
                                        [](schema::SagaDefinition::Reader r) { return read(r); });
}

void write(schema::SagaInstance::Builder root, const saga_instance& in) {
  root.setId(in.id);
  root.setSeq(in.seq);
  root.setDefinition(in.definition);
  root.setVersion(in.version);
  root.setIdempotencyKey(in.idempotency_key);
  root.setStatus(static_cast<uint8_t>(in.status));
  root.setData(in.data);
  root.setCompletedSteps(in.completed_steps);
  root.setCancelled(in.cancelled);
  root.setError(in.error);
  root.setStartedAtMs(in.started_at_ms);
  root.setUpdatedAtMs(in.updated_at_ms);
  auto timeline = root.initTimeline(static_cast<unsigned>(in.timeline.size()));
  for (unsigned i = 0; i < timeline.size(); ++i) {
    const auto& a = in.timeline[i];
    timeline[i].setStep(a.step);
    timeline[i].setCompensation(a.compensation);
    timeline[i].setRetryAtMs(a.retry_at_ms);
    auto attempts = timeline[i].initAttempts(static_cast<unsigned>(a.attempts.size()));
    for (unsigned j = 0; j < attempts.size(); ++j) {
      const auto& t = a.attempts[j];
      attempts[j].setNumber(t.number);
      attempts[j].setSentAtMs(t.sent_at_ms);
      attempts[j].setEndedAtMs(t.ended_at_ms);
      attempts[j].setOutcome(t.outcome);
      attempts[j].setError(t.error);
      attempts[j].setCommandId(t.command_id);
      attempts[j].setReplyId(t.reply_id);
    }
  }
}

std::string encode_saga_instance(const saga_instance& in) {
  // Sized to the content (the default first segment is 8 KiB, zeroed): written at every
  // transition of every saga.
  size_t bytes = 256 + in.id.size() + in.data.size() + in.error.size() + in.idempotency_key.size();
  for (const auto& a : in.timeline)
    for (const auto& t : a.attempts)
      bytes += 128 + t.error.size() + t.command_id.size() + t.reply_id.size();
  capnp::MallocMessageBuilder message{static_cast<unsigned>(bytes / sizeof(capnp::word) + 1)};
  write(message.initRoot<schema::SagaInstance>(), in);
  return to_string(message);
}

caf::expected<saga_instance> read(schema::SagaInstance::Reader r) {
  saga_instance out;
  out.id = text(r.getId());
  out.seq = r.getSeq();
  out.definition = text(r.getDefinition());
  out.version = r.getVersion();
  out.idempotency_key = text(r.getIdempotencyKey());
  if (r.getStatus() > static_cast<uint8_t>(saga_status::parked))
    return make_error(errc::corruption, "saga instance '" + out.id + "': status " +
                                            std::to_string(r.getStatus()) + " is unknown");
  out.status = static_cast<saga_status>(r.getStatus());
  out.data = text(r.getData());
  out.completed_steps = r.getCompletedSteps();
  out.cancelled = r.getCancelled();
  out.error = text(r.getError());
  out.started_at_ms = r.getStartedAtMs();
  out.updated_at_ms = r.getUpdatedAtMs();
  for (auto a : r.getTimeline()) {
    saga_activity activity{a.getStep(), a.getCompensation(), {}, a.getRetryAtMs()};
    for (auto t : a.getAttempts())
      activity.attempts.push_back({t.getNumber(), t.getSentAtMs(), t.getEndedAtMs(),
                                   text(t.getOutcome()), text(t.getError()), text(t.getCommandId()),
                                   text(t.getReplyId())});
    out.timeline.push_back(std::move(activity));
  }
  return out;
}

caf::expected<saga_instance> decode_saga_instance(const std::string& blob) {
  auto decoded = decode<schema::SagaInstance>(
      blob, "saga instance", [](schema::SagaInstance::Reader r) { return read(r); });
  if (!decoded)
    return std::move(decoded.error());
  return std::move(*decoded);
}

void write(schema::SagaSummary::Builder out, const saga_summary& in) {
  out.setId(in.id);
  out.setDefinition(in.definition);
  out.setVersion(in.version);
  out.setStatus(std::string{to_string(in.status)});
  out.setStartedAtMs(in.started_at_ms);
  out.setUpdatedAtMs(in.updated_at_ms);
  out.setCurrentStep(in.current_step);
}

saga_summary read(schema::SagaSummary::Reader in) {
  return {text(in.getId()),
          text(in.getDefinition()),
          in.getVersion(),
          parse_saga_status(text(in.getStatus())).value_or(saga_status::running),
          in.getStartedAtMs(),
          in.getUpdatedAtMs(),
          text(in.getCurrentStep())};
}

void write(schema::SagaStats::Builder out, const saga_metrics& in) {
  out.setRunning(in.running);
  out.setCompensating(in.compensating);
  out.setParked(in.parked);
  out.setStarted(in.started);
  out.setCompleted(in.completed);
  out.setCompensated(in.compensated);
  out.setCompensationsSent(in.compensations_sent);
  out.setStepReplies(in.step_replies);
  out.setStepLatencyP50Ms(in.step_latency_p50_ms);
  out.setStepLatencyP99Ms(in.step_latency_p99_ms);
}

saga_metrics read(schema::SagaStats::Reader in) {
  return {in.getRunning(),           in.getCompensating(), in.getParked(),
          in.getStarted(),           in.getCompleted(),    in.getCompensated(),
          in.getCompensationsSent(), in.getStepReplies(),  in.getStepLatencyP50Ms(),
          in.getStepLatencyP99Ms()};
}

} // namespace mailroom::codec
