#include "codec.hpp"

#include <algorithm>

#include "codec_detail.hpp"
#include "mailroom/error.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/io.h>
#include <kj/exception.h>

#include <cstring>

namespace mailroom::codec {

namespace {

std::string data(capnp::Data::Reader d) {
  return std::string{reinterpret_cast<const char*>(d.begin()), d.size()};
}

capnp::Data::Reader as_data(const std::string& s) {
  return capnp::Data::Reader{reinterpret_cast<const kj::byte*>(s.data()), s.size()};
}

} // namespace

std::string text(capnp::Text::Reader t) {
  return std::string{t.cStr(), t.size()};
}

void write(capnp::List<schema::Attribute>::Builder out, const attribute_list& in) {
  for (unsigned i = 0; i < in.size(); ++i) {
    out[i].setKey(as_text(in[i].key));
    out[i].setValue(as_text(in[i].value));
    if (!in[i].data_type.empty())
      out[i].setDataType(as_text(in[i].data_type));
  }
}

attribute_list read(capnp::List<schema::Attribute>::Reader in) {
  attribute_list out;
  out.reserve(in.size());
  for (auto a : in)
    out.push_back({text(a.getKey()), text(a.getValue()), text(a.getDataType())});
  return out;
}

void write(schema::DeathRecord::Builder out, const death_record& in) {
  out.setReason(in.reason);
  out.setError(in.error);
  out.setSource(in.source);
  out.setReceiveCount(in.receive_count);
  out.setFirstFailureMs(in.first_failure_ms);
  out.setLastFailureMs(in.last_failure_ms);
  out.setDeadAtMs(in.dead_at_ms);
}

death_record read(schema::DeathRecord::Reader in) {
  return {text(in.getReason()),   text(in.getError()),   text(in.getSource()), in.getReceiveCount(),
          in.getFirstFailureMs(), in.getLastFailureMs(), in.getDeadAtMs()};
}

/// The fields the copies of a publish share (schema::Publication).
template <class Message>
void write_shared(schema::Envelope::Builder out, const Message& in) {
  out.setBody(as_data(in.body));
  if (!in.attributes.empty())
    write(out.initAttributes(in.attributes.size()), in.attributes);
  if (!in.dedup_id.empty())
    out.setDedupId(as_text(in.dedup_id));
  if (!in.causation_id.empty())
    out.setCausationId(as_text(in.causation_id));
  if (!in.correlation_id.empty())
    out.setCorrelationId(as_text(in.correlation_id));
  out.setSentAtUs(in.sent_at_us);
}

void read_shared(schema::Envelope::Reader in, envelope& out) {
  out.body = data(in.getBody());
  out.attributes = read(in.getAttributes());
  out.dedup_id = text(in.getDedupId());
  out.causation_id = text(in.getCausationId());
  out.correlation_id = text(in.getCorrelationId());
  out.sent_at_us = in.getSentAtUs();
}

/// The fields that are a queue's own, also in a segment of copies.
void write_own(schema::Envelope::Builder out, const envelope& in) {
  out.setId(as_text(in.id));
  out.setQueue(as_text(in.queue));
  if (!in.group_id.empty())
    out.setGroupId(as_text(in.group_id));
  out.setEnqueuedAtMs(in.enqueued_at_ms);
  out.setReceiveCount(in.receive_count);
  if (!in.history.empty()) {
    auto history = out.initHistory(in.history.size());
    for (unsigned i = 0; i < in.history.size(); ++i)
      write(history[i], in.history[i]);
  }
}

void write(schema::Envelope::Builder out, const envelope& in) {
  write_own(out, in);
  write_shared(out, in);
}

envelope read_own(schema::Envelope::Reader in) {
  envelope out;
  out.id = text(in.getId());
  out.queue = text(in.getQueue());
  out.group_id = text(in.getGroupId());
  out.enqueued_at_ms = in.getEnqueuedAtMs();
  out.receive_count = in.getReceiveCount();
  for (auto d : in.getHistory())
    out.history.push_back(read(d));
  return out;
}

envelope read(schema::Envelope::Reader in) {
  auto out = read_own(in);
  read_shared(in, out);
  return out;
}

void write(schema::QueueConfig::Builder out, const queue_config& in) {
  out.setName(in.name);
  out.setVisibilityTimeoutMs(in.visibility_timeout_ms);
  out.setDelayMs(in.delay_ms);
  out.setRetentionMs(in.retention_ms);
  out.setMaxMessageBytes(in.max_message_bytes);
  out.setMaxReceiveCount(in.max_receive_count);
  out.setDeadLetterTarget(in.dead_letter_target);
  out.setMaxDepth(in.max_depth);
  out.setDedupWindowMs(in.dedup_window_ms);
  out.setContentBasedDedup(in.content_based_dedup);
  out.setFifo(in.fifo);
  out.setReceiveWaitMs(in.receive_wait_ms);
  out.setDeadLetterQueue(in.dead_letter_queue);
  auto tags = out.initTags(static_cast<unsigned>(in.tags.size()));
  unsigned i = 0;
  for (const auto& [key, value] : in.tags) {
    tags[i].setKey(key);
    tags[i++].setValue(value);
  }
  auto retry = out.initRetry();
  retry.setBaseMs(in.retry.base_ms);
  retry.setFactor(in.retry.factor);
  retry.setCapMs(in.retry.cap_ms);
}

queue_config read(schema::QueueConfig::Reader in) {
  queue_config out;
  out.name = text(in.getName());
  out.visibility_timeout_ms = in.getVisibilityTimeoutMs();
  out.delay_ms = in.getDelayMs();
  out.retention_ms = in.getRetentionMs();
  out.max_message_bytes = in.getMaxMessageBytes();
  out.max_receive_count = in.getMaxReceiveCount();
  out.dead_letter_target = text(in.getDeadLetterTarget());
  out.max_depth = in.getMaxDepth();
  out.dedup_window_ms = in.getDedupWindowMs();
  out.content_based_dedup = in.getContentBasedDedup();
  out.fifo = in.getFifo();
  out.receive_wait_ms = in.getReceiveWaitMs();
  out.dead_letter_queue = text(in.getDeadLetterQueue());
  for (auto tag : in.getTags())
    out.tags[text(tag.getKey())] = text(tag.getValue());
  if (in.hasRetry()) {
    auto r = in.getRetry();
    out.retry.base_ms = r.getBaseMs();
    out.retry.factor = r.getFactor();
    out.retry.cap_ms = r.getCapMs();
  }
  return out;
}

void write(capnp::List<schema::OutgoingMessage>::Builder out,
           const std::vector<outgoing_message>& in) {
  for (unsigned i = 0; i < in.size(); ++i) {
    const auto& m = in[i];
    auto o = out[i];
    o.setBody(capnp::Data::Reader{reinterpret_cast<const kj::byte*>(m.body.data()), m.body.size()});
    if (!m.attributes.empty())
      write(o.initAttributes(static_cast<unsigned>(m.attributes.size())), m.attributes);
    o.setDelayMs(m.delay_ms);
    // Absent fields stay null pointers: an empty text still took a word on the wire.
    if (!m.dedup_id.empty())
      o.setDedupId(as_text(m.dedup_id));
    if (!m.causation_id.empty())
      o.setCausationId(as_text(m.causation_id));
    if (!m.correlation_id.empty())
      o.setCorrelationId(as_text(m.correlation_id));
    if (!m.group_id.empty())
      o.setGroupId(as_text(m.group_id));
    if (!m.subject.empty())
      o.setSubject(as_text(m.subject));
    o.setSentAtUs(m.sent_at_us);
  }
}

std::vector<outgoing_message> read(capnp::List<schema::OutgoingMessage>::Reader in) {
  std::vector<outgoing_message> batch;
  batch.reserve(in.size());
  for (auto m : in) {
    outgoing_message out;
    auto body = m.getBody();
    out.body.assign(reinterpret_cast<const char*>(body.begin()), body.size());
    out.attributes = read(m.getAttributes());
    out.delay_ms = m.getDelayMs();
    out.dedup_id = text(m.getDedupId());
    out.causation_id = text(m.getCausationId());
    out.correlation_id = text(m.getCorrelationId());
    out.group_id = text(m.getGroupId());
    out.subject = text(m.getSubject());
    out.sent_at_us = m.getSentAtUs();
    batch.push_back(std::move(out));
  }
  return batch;
}

void write(schema::Subscription::Builder out, const subscription& in) {
  out.setQueue(in.queue);
  out.setFilterPolicy(in.filter_policy);
  out.setFilterOnBody(in.filter_on_body);
  out.setRaw(in.raw);
  out.setDeadLetterTarget(in.dead_letter_target);
  if (!in.dead_letter_queue.empty())
    out.setDeadLetterQueue(in.dead_letter_queue);
}

subscription read(schema::Subscription::Reader in) {
  return {text(in.getQueue()), text(in.getFilterPolicy()),     in.getFilterOnBody(),
          in.getRaw(),         text(in.getDeadLetterTarget()), text(in.getDeadLetterQueue())};
}

void write(schema::TopicConfig::Builder out, const topic_config& in) {
  out.setName(in.name);
  auto subs = out.initSubscriptions(static_cast<unsigned>(in.subscriptions.size()));
  for (unsigned i = 0; i < subs.size(); ++i)
    write(subs[i], in.subscriptions[i]);
  if (!in.display_name.empty())
    out.setDisplayName(in.display_name);
}

topic_config read(schema::TopicConfig::Reader in) {
  topic_config out;
  out.name = text(in.getName());
  for (auto s : in.getSubscriptions())
    out.subscriptions.push_back(read(s));
  out.display_name = text(in.getDisplayName());
  return out;
}

void write(schema::DeadLetter::Builder out, const dead_letter& in) {
  write(out.initEnvelope(), in.message);
  write(out.initDeath(), in.death);
}

dead_letter read(schema::DeadLetter::Reader in) {
  return {read(in.getEnvelope()), read(in.getDeath())};
}

std::string encode_segment(const std::vector<envelope_ptr>& messages) {
  // Size the first arena segment for the whole batch, so the record is one contiguous segment.
  size_t bytes = 64;
  for (const auto& m : messages)
    bytes += 160 + m->id.size() + m->queue.size() + m->body.size() + m->payload_size() -
             m->body.size() + 32 * m->attributes.size();
  capnp::MallocMessageBuilder message{static_cast<unsigned>(bytes / sizeof(capnp::word) + 1)};
  auto list = message.initRoot<schema::Segment>().initMessages(messages.size());
  for (unsigned i = 0; i < messages.size(); ++i)
    write(list[i], *messages[i]);
  return to_string(message);
}

std::string encode_segment(const std::vector<envelope_ptr>& messages,
                           const std::vector<uint32_t>& shared) {
  size_t bytes = 64 + 4 * shared.size();
  for (const auto& m : messages)
    bytes += 96 + m->id.size() + m->queue.size() + m->group_id.size();
  capnp::MallocMessageBuilder message{static_cast<unsigned>(bytes / sizeof(capnp::word) + 1)};
  auto root = message.initRoot<schema::Segment>();
  auto list = root.initMessages(messages.size());
  for (unsigned i = 0; i < messages.size(); ++i)
    write_own(list[i], *messages[i]);
  auto index = root.initShared(shared.size());
  for (unsigned i = 0; i < shared.size(); ++i)
    index.set(i, shared[i]);
  return to_string(message);
}

std::string encode_publication(const std::vector<outgoing_message>& messages) {
  size_t bytes = 64;
  for (const auto& m : messages)
    bytes += 160 + m.body.size() + m.dedup_id.size() + m.causation_id.size() +
             m.correlation_id.size() + 32 * m.attributes.size();
  capnp::MallocMessageBuilder message{static_cast<unsigned>(bytes / sizeof(capnp::word) + 1)};
  auto list = message.initRoot<schema::Publication>().initMessages(messages.size());
  for (unsigned i = 0; i < messages.size(); ++i)
    write_shared(list[i], messages[i]);
  return to_string(message);
}

caf::expected<std::vector<envelope>> decode_segment(std::string_view blob,
                                                    std::string_view shared) {
  caf::error problem;
  std::vector<uint32_t> index;
  auto messages = decode<schema::Segment>(blob, "segment", [&](schema::Segment::Reader r) {
    auto list = r.getMessages(); // once: every get counts against the traversal limit
    auto entries = r.getShared();
    std::vector<envelope> out;
    if (entries.size() != 0 && entries.size() != list.size()) {
      problem = make_error(errc::corruption, "segment: " + std::to_string(entries.size()) +
                                                 " shared entries for " +
                                                 std::to_string(list.size()) + " messages");
      return out;
    }
    for (auto e : entries)
      index.push_back(e);
    out.reserve(list.size());
    for (auto m : list)
      out.push_back(index.empty() ? read(m) : read_own(m));
    return out;
  });
  if (problem)
    return problem;
  if (!messages || index.empty())
    return messages; // moved: a named local in a return statement
  if (shared.empty())
    return make_error(errc::corruption, "segment: the publication it names is missing");
  auto filled = decode<schema::Publication>(shared, "publication", [&](auto r) {
    auto originals = r.getMessages();
    for (size_t i = 0; i < index.size() && !problem; ++i) {
      if (index[i] < originals.size())
        read_shared(originals[index[i]], (*messages)[i]);
      else
        problem =
            make_error(errc::corruption, "segment: message " + std::to_string(i) + " names entry " +
                                             std::to_string(index[i]) + " of a publication of " +
                                             std::to_string(originals.size()));
    }
    return true;
  });
  if (!filled)
    return std::move(filled.error());
  if (problem)
    return problem;
  return messages;
}

namespace {

/// Whether `b` is the same change as `a`, to the next message: one range event holds both.
bool continues(const message_event& a, uint32_t count, const message_event& b) {
  return b.seq == a.seq + count && b.removed == a.removed &&
         (a.removed || (b.receive_count == a.receive_count && b.visible_at_ms == a.visible_at_ms &&
                        b.in_flight == a.in_flight && b.first_failure_ms == a.first_failure_ms &&
                        b.last_failure_ms == a.last_failure_ms && b.last_error == a.last_error));
}

} // namespace

std::string encode_events(const std::vector<message_event>& events) {
  // Runs of the same change to consecutive messages (a batch leased, released or acked
  // together) become one range event: a receive of 1,000 wrote 1,000 events of 64 bytes.
  std::vector<std::pair<size_t, uint32_t>> runs; // first event, count
  for (size_t i = 0; i < events.size(); ++i) {
    auto count = std::max<uint32_t>(events[i].count, 1);
    if (!runs.empty() && continues(events[runs.back().first], runs.back().second, events[i]) &&
        runs.back().second <= UINT32_MAX - count)
      runs.back().second += count;
    else
      runs.emplace_back(i, count);
  }
  // Sized to the content: the default first segment (8 KiB, zeroed) cost more than the encoding
  // for the small batches of a busy queue.
  capnp::MallocMessageBuilder message{static_cast<unsigned>(16 + runs.size() * 12)};
  auto list = message.initRoot<schema::SegmentEvents>().initEvents(runs.size());
  for (unsigned i = 0; i < runs.size(); ++i) {
    const auto& e = events[runs[i].first];
    list[i].setSeq(e.seq);
    if (runs[i].second > 1)
      list[i].setCount(runs[i].second);
    if (e.removed) {
      list[i].setRemoved();
      continue;
    }
    auto s = list[i].initState();
    s.setReceiveCount(e.receive_count);
    s.setVisibleAtMs(e.visible_at_ms);
    s.setInFlight(e.in_flight);
    s.setFirstFailureMs(e.first_failure_ms);
    s.setLastFailureMs(e.last_failure_ms);
    if (!e.last_error.empty())
      s.setLastError(e.last_error);
  }
  return to_string(message);
}

caf::expected<std::vector<message_event>> decode_events(const std::string& blob) {
  return decode<schema::SegmentEvents>(blob, "segment events", [](schema::SegmentEvents::Reader r) {
    auto events = r.getEvents(); // once: every get counts against the traversal limit
    std::vector<message_event> out;
    out.reserve(events.size());
    for (auto e : events) {
      message_event x;
      x.seq = e.getSeq();
      x.count = std::max<uint32_t>(e.getCount(), 1);
      if (e.isRemoved()) {
        x.removed = true;
      } else {
        auto s = e.getState();
        x.receive_count = s.getReceiveCount();
        x.visible_at_ms = s.getVisibleAtMs();
        x.in_flight = s.getInFlight();
        x.first_failure_ms = s.getFirstFailureMs();
        x.last_failure_ms = s.getLastFailureMs();
        x.last_error = text(s.getLastError());
      }
      out.push_back(std::move(x));
    }
    return out;
  });
}

std::string encode_queue_config(const queue_config& config) {
  capnp::MallocMessageBuilder message;
  write(message.initRoot<schema::QueueConfig>(), config);
  return to_string(message);
}

caf::expected<queue_config> decode_queue_config(const std::string& blob) {
  // A journal record from before a field existed holds zero there: today's default. (Values the
  // wire carries are taken as sent, so that a zero is refused by validation on every face.)
  return decode<schema::QueueConfig>(blob, "queue config", [](schema::QueueConfig::Reader r) {
    queue_config defaults;
    auto out = read(r);
    auto or_default = [](auto v, auto d) { return v != 0 ? v : d; };
    out.visibility_timeout_ms =
        or_default(out.visibility_timeout_ms, defaults.visibility_timeout_ms);
    out.retention_ms = or_default(out.retention_ms, defaults.retention_ms);
    out.max_message_bytes = or_default(out.max_message_bytes, defaults.max_message_bytes);
    out.dedup_window_ms = or_default(out.dedup_window_ms, defaults.dedup_window_ms);
    return out;
  });
}

void write(schema::TraceEvent::Builder o, const trace_step& e) {
  o.setId(e.id);
  o.setQueue(e.queue);
  o.setKind(e.kind);
  o.setAtMs(e.at_ms);
  o.setReceiveCount(e.receive_count);
  if (!e.detail.empty())
    o.setDetail(e.detail);
  if (!e.causation_id.empty())
    o.setCausationId(e.causation_id);
  if (!e.correlation_id.empty())
    o.setCorrelationId(e.correlation_id);
}

trace_step read(schema::TraceEvent::Reader e) {
  return {text(e.getId()),          text(e.getQueue()),
          text(e.getKind()),        e.getAtMs(),
          e.getReceiveCount(),      text(e.getDetail()),
          text(e.getCausationId()), text(e.getCorrelationId())};
}

std::string encode_trace(const std::vector<trace_event>& events) {
  // The queue once per row when every event shares it (a queue's rows always do).
  const std::string* shared_queue = events.empty() ? nullptr : &events.front().step.queue;
  for (const auto& e : events)
    if (shared_queue && e.step.queue != *shared_queue)
      shared_queue = nullptr;
  size_t bytes = 64;
  for (const auto& e : events)
    bytes += 96 + e.step.id.size() + e.step.kind.size() + e.step.detail.size() +
             e.step.causation_id.size() + e.step.correlation_id.size() + 48 * e.more_ids.size();
  capnp::MallocMessageBuilder message{static_cast<unsigned>(bytes / sizeof(capnp::word) + 1)};
  auto root = message.initRoot<schema::TraceEvents>();
  if (shared_queue)
    root.setQueue(as_text(*shared_queue));
  auto list = root.initEvents(static_cast<unsigned>(events.size()));
  for (unsigned i = 0; i < list.size(); ++i) {
    const auto& e = events[i];
    auto o = list[i];
    if (!e.step.id.empty())
      o.setId(as_text(e.step.id));
    if (!shared_queue)
      o.setQueue(as_text(e.step.queue));
    o.setKind(as_text(e.step.kind));
    o.setAtMs(e.step.at_ms);
    o.setReceiveCount(e.step.receive_count);
    if (!e.step.detail.empty())
      o.setDetail(as_text(e.step.detail));
    if (!e.step.causation_id.empty())
      o.setCausationId(as_text(e.step.causation_id));
    if (!e.step.correlation_id.empty())
      o.setCorrelationId(as_text(e.step.correlation_id));
    o.setSeq(e.seq);
    if (e.count > 1)
      o.setCount(e.count);
    if (!e.more_ids.empty()) {
      auto more = o.initMoreIds(static_cast<unsigned>(e.more_ids.size()));
      for (unsigned k = 0; k < more.size(); ++k)
        more.set(k, as_text(e.more_ids[k]));
    }
  }
  return to_string(message);
}

caf::expected<std::vector<trace_event>> decode_trace(const std::string& blob) {
  caf::error problem;
  auto steps = decode<schema::TraceEvents>(blob, "trace", [&](schema::TraceEvents::Reader r) {
    auto events = r.getEvents();
    auto queue = text(r.getQueue());
    std::vector<trace_event> out;
    out.reserve(events.size());
    for (auto e : events) {
      auto count = std::max<uint32_t>(1, e.getCount());
      if (count > max_trace_range) {
        problem = make_error(errc::corruption,
                             "trace: a step for " + std::to_string(count) + " messages");
        return out;
      }
      auto more = e.getMoreIds();
      if (more.size() != 0 && more.size() != count - 1) {
        problem = make_error(errc::corruption, "trace: " + std::to_string(more.size()) +
                                                   " more ids for a step of " +
                                                   std::to_string(count) + " messages");
        return out;
      }
      out.push_back({read(e), e.getSeq()});
      if (out.back().step.queue.empty())
        out.back().step.queue = queue;
      for (uint32_t k = 1; k < count; ++k) {
        out.push_back(out.back());
        ++out.back().seq;
        if (more.size() != 0)
          out.back().step.id = text(more[k - 1]);
      }
    }
    return out;
  });
  if (problem)
    return problem;
  return steps;
}

std::string encode_dedup(const dedup_records& records) {
  size_t bytes = 64;
  for (const auto& [key, id] : records.entries)
    bytes += key.size() + id.size() + 48;
  capnp::MallocMessageBuilder message{static_cast<unsigned>(bytes / sizeof(capnp::word) + 1)};
  auto root = message.initRoot<schema::DedupRecords>();
  root.setExpiresAtMs(records.expires_at_ms);
  auto entries = root.initEntries(static_cast<unsigned>(records.entries.size()));
  for (unsigned i = 0; i < entries.size(); ++i) {
    entries[i].setKey(records.entries[i].first);
    entries[i].setId(records.entries[i].second);
  }
  return to_string(message);
}

caf::expected<dedup_records> decode_dedup(const std::string& blob) {
  return decode<schema::DedupRecords>(blob, "dedup records", [](schema::DedupRecords::Reader r) {
    dedup_records out;
    out.expires_at_ms = r.getExpiresAtMs();
    for (auto e : r.getEntries())
      out.entries.emplace_back(text(e.getKey()), text(e.getId()));
    return out;
  });
}

void write(schema::AlarmConfig::Builder out, const alarm_config& config) {
  out.setName(config.name);
  out.setEntity(config.entity);
  out.setMetric(config.metric);
  out.setThreshold(config.threshold);
  out.setForMs(config.for_ms);
  out.setTopic(config.topic);
  out.setCheckEveryMs(config.check_every_ms);
  if (!config.cloudwatch.empty())
    out.setCloudwatch(config.cloudwatch);
  out.setBelow(config.below);
  out.setWindowMs(config.window_ms);
  if (!config.ok_topic.empty())
    out.setOkTopic(config.ok_topic);
}

alarm_config read(schema::AlarmConfig::Reader r) {
  alarm_config out;
  out.name = text(r.getName());
  out.entity = text(r.getEntity());
  out.metric = text(r.getMetric());
  out.threshold = r.getThreshold();
  out.for_ms = r.getForMs();
  out.topic = text(r.getTopic());
  out.check_every_ms = r.getCheckEveryMs();
  out.cloudwatch = text(r.getCloudwatch());
  out.below = r.getBelow();
  if (r.getWindowMs() > 0) // older records: the minute every rate alarm had then
    out.window_ms = r.getWindowMs();
  out.ok_topic = text(r.getOkTopic());
  return out;
}

std::string encode_alarm_config(const alarm_config& config) {
  capnp::MallocMessageBuilder message;
  write(message.initRoot<schema::AlarmConfig>(), config);
  return to_string(message);
}

caf::expected<alarm_config> decode_alarm_config(const std::string& blob) {
  return decode<schema::AlarmConfig>(blob, "alarm config",
                                     [](schema::AlarmConfig::Reader r) { return read(r); });
}

void write(schema::RouterConfig::Builder out, const router_config& config) {
  out.setName(config.name);
  auto rules = out.initRules(static_cast<unsigned>(config.rules.size()));
  for (unsigned i = 0; i < rules.size(); ++i) {
    rules[i].setMatch(config.rules[i].match);
    rules[i].setMatchBody(config.rules[i].match_body);
    rules[i].setTo(config.rules[i].to.to_string());
  }
  out.setAllMatch(config.all_match);
  if (config.fallback)
    out.setFallback(config.fallback->to_string());
  out.setDeadLetterTarget(config.dead_letter_target);
}

caf::expected<router_config> read(schema::RouterConfig::Reader r) {
  router_config out;
  out.name = text(r.getName());
  for (auto rule : r.getRules()) {
    auto to = route_target::parse(text(rule.getTo()));
    if (!to)
      return make_error(errc::invalid_argument, "router config: " + message_of(to.error()));
    out.rules.push_back({text(rule.getMatch()), rule.getMatchBody(), *to});
  }
  out.all_match = r.getAllMatch();
  if (r.getFallback().size() > 0) {
    auto fallback = route_target::parse(text(r.getFallback()));
    if (!fallback)
      return make_error(errc::invalid_argument, "router config: " + message_of(fallback.error()));
    out.fallback = *fallback;
  }
  out.dead_letter_target = text(r.getDeadLetterTarget());
  return out;
}

std::string encode_router_config(const router_config& config) {
  capnp::MallocMessageBuilder message;
  write(message.initRoot<schema::RouterConfig>(), config);
  return to_string(message);
}

caf::expected<router_config> decode_router_config(const std::string& blob) {
  auto decoded = decode<schema::RouterConfig>(
      blob, "router config", [](schema::RouterConfig::Reader r) { return read(r); });
  if (!decoded)
    return std::move(decoded.error());
  if (!*decoded) // stored bytes that decode to a bad target: the journal is damaged
    return make_error(errc::corruption, message_of(decoded->error()));
  return std::move(**decoded);
}

std::string encode_topic_config(const topic_config& config) {
  capnp::MallocMessageBuilder message;
  write(message.initRoot<schema::TopicConfig>(), config);
  return to_string(message);
}

caf::expected<topic_config> decode_topic_config(const std::string& blob) {
  return decode<schema::TopicConfig>(blob, "topic config",
                                     [](schema::TopicConfig::Reader r) { return read(r); });
}

std::string encode_dead_letter(const dead_letter& record) {
  capnp::MallocMessageBuilder message;
  write(message.initRoot<schema::DeadLetter>(), record);
  return to_string(message);
}

caf::expected<dead_letter> decode_dead_letter(const std::string& blob) {
  return decode<schema::DeadLetter>(blob, "dead letter",
                                    [](schema::DeadLetter::Reader r) { return read(r); });
}

} // namespace mailroom::codec
