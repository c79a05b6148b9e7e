#include "queue/queue_state.hpp"

#include "queue/message_bytes.hpp"
#include "mailroom/duration.hpp"
#include "mailroom/error.hpp"
#include "backoff.hpp"
#include "mailroom/ids.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

namespace mailroom {

// --- event_sink ----------------------------------------------------------------------------------

class queue_state::event_sink {
public:
  explicit event_sink(queue_state& q) : q_(q) {}

  void state(uint64_t seq, const stored& m) {
    by_segment_[seq - m.offset].push_back(q_.state_event(seq, m));
  }

  /// Records a removal and drops the message from memory.
  void remove(uint64_t seq) {
    auto* m = q_.messages_.find(seq);
    if (m == nullptr)
      return;
    auto segment = q_.segment_of(seq, *m);
    q_.unschedule(seq, *m);
    q_.leave_group(seq);
    q_.set_phase(*m, phase::pending); // leaves the counters
    q_.messages_.erase(seq);
    q_.failures_.erase(seq);
    codec::message_event e;
    e.seq = seq;
    e.removed = true;
    by_segment_[segment->first].push_back(std::move(e));
    if (--segment->second.live == 0) {
      emptied_.push_back(segment->first);
      q_.uncache(segment->first, segment->second);
      q_.segments_.erase(segment);
    }
  }

  void emit(write_batch& out) {
    q_.flush_trace(out);
    for (auto segment : emptied_)
      by_segment_.erase(segment);
    for (auto& [segment, events] : by_segment_)
      out.append_events(q_.config_.name, segment, codec::encode_events(events));
    for (auto segment : emptied_)
      out.delete_segment(q_.config_.name, segment);
  }

private:
  queue_state& q_;
  std::map<uint64_t, std::vector<codec::message_event>> by_segment_;
  std::vector<uint64_t> emptied_;
};

// --- queue_state -----------------------------------------------------------------------------

void queue_state::record(uint64_t seq, uint32_t receive_count, const char* kind, int64_t at_ms,
                         std::string detail, std::string id) {
  if (!trace_enabled_)
    return;
  // A batch received, acked or retried together is one step for a run of seqs: a third of the
  // journal bytes tracing used to add per message.
  if (!trace_.empty() && id.empty() && detail.empty()) {
    auto& last = trace_.back();
    if (last.seq != 0 && last.seq + last.count == seq && last.count < codec::max_trace_range &&
        last.step.id.empty() && last.step.detail.empty() && last.step.at_ms == at_ms &&
        last.step.receive_count == receive_count && last.step.kind == kind) {
      ++last.count;
      return;
    }
  }
  trace_.push_back(
      {{std::move(id), config_.name, kind, at_ms, receive_count, std::move(detail), {}, {}}, seq});
}

void queue_state::record_sent(const envelope& e, uint64_t seq, int64_t now_ms) {
  const char* kind = e.history.empty() ? "sent" : "redriven";
  // A send batch without lineage is one step for its run of seqs, with their ids.
  if (!trace_.empty() && e.causation_id.empty() && e.correlation_id.empty()) {
    auto& last = trace_.back();
    if (last.seq != 0 && last.seq + last.count == seq && last.count < codec::max_trace_range &&
        !last.step.id.empty() && last.step.causation_id.empty() &&
        last.step.correlation_id.empty() && last.step.at_ms == now_ms &&
        last.step.receive_count == e.receive_count && last.step.kind == kind) {
      ++last.count;
      last.more_ids.push_back(e.id);
      return;
    }
  }
  trace_.push_back(
      {{e.id, config_.name, kind, now_ms, e.receive_count, {}, e.causation_id, e.correlation_id},
       seq});
}

// --- bodies ----------------------------------------------------------------------------------

std::map<uint64_t, queue_state::segment>::iterator queue_state::segment_of(uint64_t seq,
                                                                           const stored& m) {
  return segments_.find(seq - m.offset);
}

void queue_state::keep_bodies_in_journal(segment_reader reader, size_t cache_bytes) {
  reader_ = std::move(reader);
  cache_limit_ = cache_bytes;
  // Recovery may have cached more than the budget (FIFO queues, format-1 segments).
  set_cache_budget(cache_bytes);
}

void queue_state::squeeze_cache(bool squeezed) {
  if (reader_)
    set_cache_budget(squeezed ? std::min(cache_limit_, squeezed_cache_bytes) : cache_limit_);
}

void queue_state::set_cache_budget(size_t bytes) {
  cache_budget_ = bytes;
  while (cache_bytes_ > cache_budget_ && !cached_.empty()) {
    auto first = *cached_.rbegin();
    uncache(first, segments_.at(first));
  }
}

void queue_state::cache(uint64_t first_seq, segment& s) {
  s.bytes = message_bytes(*s.bodies);
  cache_bytes_ += s.bytes;
  cached_.insert(first_seq);
}

void queue_state::uncache(uint64_t first_seq, segment& s) {
  if (cached_.erase(first_seq) > 0)
    cache_bytes_ -= s.bytes;
  s.bodies.reset();
  s.bytes = 0;
}

caf::error queue_state::load_bodies(uint64_t first_seq) {
  // The segment wanted and the ones after it while the cache has room: a deep queue drains
  // at one journal read per few segments, and nothing read is evicted unused.
  auto err = reader_(first_seq, [&](uint64_t first, std::vector<envelope> messages) {
    auto it = segments_.find(first);
    if (it == segments_.end() || it->second.bodies || messages.size() != it->second.count)
      return true; // removed since, already here, or not ours
    auto bodies = std::make_shared<std::vector<envelope_ptr>>();
    bodies->reserve(messages.size());
    for (auto& e : messages)
      bodies->push_back(std::make_shared<const envelope>(std::move(e)));
    it->second.bodies = std::move(bodies);
    cache(first, it->second);
    return cache_bytes_ < cache_budget_;
  });
  if (err)
    return err;
  auto wanted = segments_.find(first_seq);
  if (wanted == segments_.end() || !wanted->second.bodies)
    return make_error(errc::corruption, "queue '" + config_.name + "': segment " +
                                            std::to_string(first_seq) +
                                            " is missing from the journal or has the wrong size");
  // Evict the newest first: they are delivered last, and the reads ahead come from the front.
  while (cache_bytes_ > cache_budget_ && cached_.size() > 1) {
    auto victim = std::prev(cached_.end());
    if (*victim == first_seq)
      --victim;
    uncache(*victim, segments_.at(*victim));
  }
  return {};
}

caf::expected<envelope_ptr> queue_state::body(uint64_t seq, const stored& m) {
  auto it = segment_of(seq, m);
  if (!it->second.bodies)
    if (auto err = load_bodies(it->first))
      return err;
  return (*it->second.bodies)[m.offset];
}

queue_state::segment& queue_state::add_segment(uint64_t first_seq, uint32_t count,
                                               int64_t enqueued_at_ms) {
  auto& s = segments_.emplace_hint(segments_.end(), first_seq, segment{})->second;
  s.count = s.live = count;
  s.enqueued_at_ms = enqueued_at_ms;
  for (uint32_t i = 0; i < count; ++i) {
    auto& m = messages_.add(first_seq + i, i);
    m.visible_at_ms = enqueued_at_ms;
  }
  next_seq_ = std::max(next_seq_, first_seq + count);
  return s;
}

std::optional<int64_t> queue_state::oldest_enqueued_at() const {
  // Segments are enqueued in sequence order, so the first message that counts is the oldest.
  std::optional<int64_t> oldest;
  messages_.for_each([&](uint64_t seq, const stored& m) {
    if (m.state == phase::pending || m.state == phase::dead_lettering)
      return true;
    oldest = segments_.at(seq - m.offset).enqueued_at_ms;
    return false;
  });
  return oldest;
}

void queue_state::flush_trace(write_batch& out) {
  if (trace_.empty())
    return;
  auto at = trace_.back().step.at_ms;
  out.append_trace(at, codec::encode_trace(trace_));
  trace_.clear();
  // Trace rows are kept a day; any queue may prune them, and one in a few thousand does.
  if (++trace_flushes_ % 4096 == 0)
    out.delete_trace_before(at - trace_retention_ms);
}

queue_state::queue_state(queue_config config) : config_(std::move(config)) {}

codec::message_event queue_state::state_event(uint64_t seq, const stored& m) const {
  codec::message_event e;
  e.seq = seq;
  e.receive_count = m.receive_count;
  e.visible_at_ms = m.visible_at_ms;
  e.in_flight = m.state == phase::in_flight;
  if (auto f = failures_.find(seq); f != failures_.end()) {
    e.first_failure_ms = f->second.first_ms;
    e.last_failure_ms = f->second.last_ms;
    e.last_error = f->second.error;
  }
  return e;
}

void queue_state::set_phase(stored& m, phase next) {
  auto counter = [this](phase p) -> uint64_t* {
    switch (p) {
    case phase::ready:
      return &counters_.visible;
    case phase::in_flight:
      return &counters_.in_flight;
    case phase::delayed:
    case phase::dead_lettering:
      return &counters_.delayed;
    case phase::pending:
    case phase::absent:
      return nullptr;
    }
    return nullptr;
  };
  if (auto* c = counter(m.state))
    --*c;
  m.state = next;
  if (auto* c = counter(next))
    ++*c;
}

void queue_state::unschedule(uint64_t seq, const stored& m) {
  if (m.state == phase::delayed || m.state == phase::in_flight)
    timers_.erase({m.visible_at_ms, seq});
}

void queue_state::schedule(uint64_t seq, stored& m, phase next, int64_t at_ms) {
  unschedule(seq, m);
  m.visible_at_ms = at_ms;
  set_phase(m, next);
  timers_.emplace(at_ms, seq);
}

void queue_state::make_ready(uint64_t seq, stored& m) {
  unschedule(seq, m);
  set_phase(m, phase::ready);
  if (!config_.fifo)
    ready_.push_back(seq);
  else if (is_group_head(seq))
    ready_groups_.push_back(group_of_.at(seq));
  // A FIFO message behind its group's head waits: leave_group() offers it when it is the head.
}

// --- FIFO groups ---------------------------------------------------------------------------------

bool queue_state::is_group_head(uint64_t seq) const {
  auto g = groups_.find(group_of_.at(seq));
  return g != groups_.end() && !g->second.empty() && g->second.front() == seq;
}

void queue_state::join_group(uint64_t seq) {
  if (config_.fifo)
    groups_[group_of_.at(seq)].push_back(seq);
}

void queue_state::leave_group(uint64_t seq) {
  if (!config_.fifo)
    return;
  auto name = group_of_.find(seq);
  if (name == group_of_.end())
    return;
  auto g = groups_.find(name->second);
  group_of_.erase(name);
  if (g == groups_.end())
    return;
  auto& members = g->second;
  bool was_head = !members.empty() && members.front() == seq;
  members.erase(std::find(members.begin(), members.end(), seq)); // the head, but for purges
  if (members.empty()) {
    groups_.erase(g);
    return;
  }
  if (!was_head)
    return;
  auto* next = messages_.find(members.front());
  if (next != nullptr && next->state == phase::ready)
    ready_groups_.push_back(g->first);
}

std::optional<uint64_t> queue_state::next_ready() {
  if (!config_.fifo) {
    if (ready_.empty())
      return std::nullopt;
    auto seq = ready_.front();
    ready_.pop_front();
    return seq;
  }
  // One message per group and only its head: the rest of the group waits for it.
  if (ready_groups_.empty())
    return std::nullopt;
  auto group = std::move(ready_groups_.front());
  ready_groups_.pop_front();
  auto g = groups_.find(group);
  if (g == groups_.end() || g->second.empty())
    return 0; // stale; 0 is never a sequence number
  return g->second.front();
}

caf::error queue_state::check_timing(const outgoing_message& m, int64_t delay_ms) const {
  if (config_.fifo && m.group_id.empty())
    return make_error(errc::invalid_argument,
                      "FIFO queue '" + config_.name + "': every message needs a group id");
  if (config_.fifo && m.delay_ms > 0)
    return make_error(errc::invalid_argument,
                      "FIFO queue '" + config_.name +
                          "': a message cannot have its own delay (it would reorder its "
                          "group); set the queue's delay instead");
  if (delay_ms > max_message_delay_ms)
    return make_error(errc::invalid_argument, "queue '" + config_.name + "': delay " +
                                                  format_duration_ms(delay_ms) +
                                                  " is longer than 15m");
  return {};
}

caf::error queue_state::check_room(const envelope& e, size_t taken, size_t room) const {
  if (e.payload_size() > config_.max_message_bytes)
    return make_error(errc::message_too_large,
                      "queue '" + config_.name + "': message of " +
                          std::to_string(e.payload_size()) + " bytes exceeds the limit of " +
                          std::to_string(config_.max_message_bytes) + " bytes");
  if (taken >= room)
    return make_error(errc::queue_full,
                      "queue '" + config_.name + "' is full: " + std::to_string(room) +
                          " new message(s) of this batch fit (it holds " +
                          std::to_string(messages_.size()) + " of at most " +
                          std::to_string(config_.max_depth) + "); retry the rest later");
  return {};
}

caf::expected<queue_state::send_outcome> queue_state::send(std::vector<outgoing_message> batch,
                                                           int64_t now_ms, batch_mode mode,
                                                           const publication_ref& shared) {
  if (batch.empty())
    return make_error(errc::invalid_argument, "queue '" + config_.name + "': empty send batch");
  if (shared.id != 0 && shared.entries.size() != batch.size())
    return make_error(errc::invalid_argument,
                      "queue '" + config_.name + "': " + std::to_string(shared.entries.size()) +
                          " publication entries for " + std::to_string(batch.size()) + " copies");
  std::vector<envelope> envelopes;
  std::vector<int64_t> delays;
  envelopes.reserve(batch.size());
  delays.reserve(batch.size());
  publication_ref kept_shared{shared.id, {}}; // `shared`, of the messages that go in
  // Duplicates are answered with the id they were first sent as, and not enqueued. Only they
  // are noted here (position in the batch, id); the rest get enqueue()'s ids.
  std::vector<std::pair<size_t, std::string>> duplicate_ids;
  dedup_index::entries new_keys;
  std::vector<uint64_t> duplicates_of; // pending sends that duplicates in this batch name
  std::unordered_map<std::string, std::string> keys_in_batch; // key → id of its first message
  std::vector<std::pair<size_t, caf::error>> refused;         // batch_mode::each only
  // batch_mode::each: a full queue takes the first new messages that fit (enqueue() refuses a
  // whole batch past max_depth, which left batch producers starved by a nearly full queue).
  auto room = std::numeric_limits<size_t>::max();
  if (mode == batch_mode::each && config_.max_depth > 0)
    room = config_.max_depth - std::min<size_t>(messages_.size(), config_.max_depth);
  for (size_t i = 0; i < batch.size(); ++i) {
    auto& m = batch[i];
    // all_or_none: the first problem refuses the batch; each: it refuses this message only.
    auto refuse = [&](caf::error err) {
      if (mode == batch_mode::each)
        refused.emplace_back(i, std::move(err));
      return mode == batch_mode::all_or_none ? std::move(err) : caf::error{};
    };
    auto delay = m.delay_ms < 0 ? config_.delay_ms : m.delay_ms;
    if (auto err = check_timing(m, delay)) {
      if (auto whole = refuse(std::move(err)))
        return whole;
      continue;
    }
    auto key = dedup_index::key_of(m.dedup_id, m.body, config_.content_based_dedup);
    if (!key.empty()) {
      uint64_t batch = 0;
      if (auto* original = dedup_.find(key, now_ms, &batch)) {
        duplicate_ids.emplace_back(i, *original);
        // Not yet durable (or staged by a topic that may still abort): the caller must not
        // confirm before that send is.
        if (pending_.count(batch))
          duplicates_of.push_back(batch);
        continue;
      }
      if (auto it = keys_in_batch.find(key); it != keys_in_batch.end()) {
        duplicate_ids.emplace_back(i, it->second);
        continue;
      }
    }
    envelope e;
    e.id = m.id.empty() ? new_message_id() : std::move(m.id);
    e.queue = config_.name;
    e.body = std::move(m.body);
    e.attributes = std::move(m.attributes);
    e.dedup_id = std::move(m.dedup_id);
    e.causation_id = std::move(m.causation_id);
    e.correlation_id = std::move(m.correlation_id);
    e.group_id = std::move(m.group_id);
    e.sent_at_us = m.sent_at_us != 0 ? m.sent_at_us : now_ms * 1000;
    if (auto err = check_room(e, envelopes.size(), room)) {
      if (auto whole = refuse(std::move(err)))
        return whole;
      continue;
    }
    if (!key.empty()) {
      keys_in_batch.emplace(key, e.id);
      new_keys.emplace_back(std::move(key), e.id);
    }
    envelopes.push_back(std::move(e));
    delays.push_back(delay);
    if (shared.id != 0)
      kept_shared.entries.push_back(shared.entries[i]);
  }
  send_outcome out;
  if (!envelopes.empty()) {
    auto enqueue_out = enqueue(std::move(envelopes), delays, now_ms, kept_shared);
    if (!enqueue_out)
      return enqueue_out;
    out = std::move(*enqueue_out);
    dedup_.add(config_.name, out.token, now_ms + config_.dedup_window_ms, std::move(new_keys),
               out.writes);
  } else {
    // Only duplicates: confirm no earlier than the sends they duplicate.
    out.writes.barrier();
  }
  dedup_.expire(config_.name, now_ms, out.writes);
  if (!duplicate_ids.empty() || !refused.empty()) {
    // Merge: duplicates and refusals at their positions, new ids in between.
    std::vector<std::string> ids;
    ids.reserve(batch.size());
    auto fresh = out.ids.begin();
    auto dup = duplicate_ids.begin();
    auto no = refused.begin();
    for (size_t i = 0; i < batch.size(); ++i) {
      if (dup != duplicate_ids.end() && dup->first == i)
        ids.push_back(std::move((dup++)->second));
      else if (no != refused.end() && no->first == i)
        ids.emplace_back(), ++no;
      else
        ids.push_back(std::move(*fresh++));
    }
    out.ids = std::move(ids);
  }
  out.refused = std::move(refused);
  std::sort(duplicates_of.begin(), duplicates_of.end());
  duplicates_of.erase(std::unique(duplicates_of.begin(), duplicates_of.end()), duplicates_of.end());
  out.waits_for = std::move(duplicates_of);
  return out;
}

caf::expected<queue_state::send_outcome> queue_state::accept_redrive(std::vector<envelope> batch,
                                                                     int64_t now_ms) {
  if (batch.empty())
    return make_error(errc::invalid_argument, "queue '" + config_.name + "': empty redrive batch");
  for (auto& e : batch) {
    if (e.payload_size() > config_.max_message_bytes)
      return make_error(errc::message_too_large,
                        "queue '" + config_.name + "': redriven message " + e.id + " of " +
                            std::to_string(e.payload_size()) + " bytes exceeds the limit of " +
                            std::to_string(config_.max_message_bytes) + " bytes");
    e.queue = config_.name;
    e.receive_count = 0;
  }
  std::vector<int64_t> no_delays(batch.size(), 0);
  return enqueue(std::move(batch), no_delays, now_ms);
}

caf::expected<queue_state::send_outcome> queue_state::enqueue(std::vector<envelope> batch,
                                                              const std::vector<int64_t>& delays,
                                                              int64_t now_ms,
                                                              const publication_ref& shared) {
  if (config_.max_depth > 0 && messages_.size() + batch.size() > config_.max_depth)
    return make_error(errc::queue_full, "queue '" + config_.name + "' is full: it holds " +
                                            std::to_string(messages_.size()) + " of at most " +
                                            std::to_string(config_.max_depth) +
                                            " messages; retry later");
  send_outcome out;
  out.token = next_seq_;
  auto first = next_seq_;
  auto bodies = std::make_shared<std::vector<envelope_ptr>>();
  bodies->reserve(batch.size());
  std::vector<codec::message_event> delay_events;
  out.ids.reserve(batch.size());
  for (auto& e : batch) {
    e.enqueued_at_ms = now_ms;
    out.ids.push_back(e.id);
    if (trace_enabled_) // the one step that names the message by id: the rest say its seq
      record_sent(e, first + bodies->size(), now_ms);
    bodies->push_back(std::make_shared<const envelope>(std::move(e)));
  }
  auto& seg = add_segment(first, static_cast<uint32_t>(batch.size()), now_ms);
  auto& seqs = pending_[out.token];
  seqs.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    auto seq = first + i;
    auto& m = *messages_.find(seq);
    m.visible_at_ms = now_ms + delays[i];
    if (delays[i] > 0) {
      codec::message_event ev;
      ev.seq = seq;
      ev.visible_at_ms = m.visible_at_ms;
      delay_events.push_back(std::move(ev));
    }
    if (config_.fifo)
      group_of_.emplace(seq, (*bodies)[i]->group_id);
    seqs.push_back(seq);
  }
  seg.bytes = message_bytes(*bodies);
  pending_bytes_ += seg.bytes;
  out.writes.put_segment(config_.name, first, seg.count, now_ms, shared.id,
                         shared.id != 0 ? codec::encode_segment(*bodies, shared.entries)
                                        : codec::encode_segment(*bodies));
  seg.bodies = std::move(bodies);
  if (next_seq_ > reserved_seq_) {
    constexpr uint64_t reservation = 1 << 20; // one catalog write per million messages
    reserved_seq_ = next_seq_ + reservation;
    out.reservation.put_catalog(sequence_catalog_kind, config_.name, std::to_string(reserved_seq_));
  }
  flush_trace(out.writes);
  if (!delay_events.empty())
    out.writes.append_events(config_.name, first, codec::encode_events(delay_events));
  return out;
}

void queue_state::commit_send(uint64_t token, int64_t now_ms) {
  auto it = pending_.find(token);
  if (it == pending_.end())
    return;
  for (auto seq : it->second) {
    auto* m = messages_.find(seq);
    if (m == nullptr)
      continue;
    ++counters_.sent;
    join_group(seq);
    if (m->visible_at_ms <= now_ms)
      make_ready(seq, *m);
    else
      schedule(seq, *m, phase::delayed, m->visible_at_ms);
  }
  pending_.erase(it);
  // Its bodies are in the journal now: kept while the cache has room, read back otherwise.
  if (auto seg = segments_.find(token); seg != segments_.end()) {
    pending_bytes_ -= seg->second.bytes;
    if (!reader_ || cache_bytes_ + seg->second.bytes <= cache_budget_)
      cache(token, seg->second);
    else
      seg->second.bodies.reset();
  }
}

void queue_state::abort_send(uint64_t token) {
  auto it = pending_.find(token);
  if (it == pending_.end())
    return;
  dedup_.forget_batch(token);
  for (auto seq : it->second) {
    messages_.erase(seq);
    group_of_.erase(seq);
  }
  if (auto seg = segments_.find(token); seg != segments_.end()) {
    pending_bytes_ -= seg->second.bytes;
    segments_.erase(seg);
  }
  pending_.erase(it);
}

queue_state::receive_outcome queue_state::receive(uint32_t max, int64_t visibility_ms,
                                                  int64_t now_ms) {
  receive_outcome out;
  auto lease = visibility_ms < 0 ? config_.visibility_timeout_ms : visibility_ms;
  event_sink events{*this};
  while (out.deliveries.size() < max) {
    auto next = next_ready();
    if (!next)
      break;
    auto seq = *next;
    auto* found = messages_.find(seq);
    if (found == nullptr || found->state != phase::ready)
      continue; // stale entry
    auto& m = *found;
    if (config_.max_receive_count > 0 && m.receive_count >= config_.max_receive_count) {
      dead_letter_message(seq, m, "max_receives", now_ms, out.dead);
      continue;
    }
    auto message = body(seq, m);
    if (!message) { // it stays ready, first in line
      if (config_.fifo)
        ready_groups_.push_front(group_of_.at(seq));
      else
        ready_.push_front(seq);
      out.error = std::move(message.error());
      break;
    }
    ++m.receive_count;
    ++counters_.received;
    schedule(seq, m, phase::in_flight, now_ms + lease);
    record(seq, m.receive_count, "delivered", now_ms, {});
    events.state(seq, m);
    out.deliveries.push_back(
        {std::move(*message), format_receipt({seq, m.receive_count}), m.receive_count});
  }
  events.emit(out.writes);
  return out;
}

std::pair<queue_state::stored*, uint64_t> queue_state::find(const std::string& text,
                                                            ack_outcome& out) {
  out.receipt = text;
  auto r = parse_receipt(text);
  auto fail = [&](errc code, std::string why) -> std::pair<stored*, uint64_t> {
    out.error_code = std::string{to_string(code)};
    out.error_message = "queue '" + config_.name + "': receipt '" + text + "' " + why;
    return {nullptr, 0};
  };
  if (!r)
    return fail(errc::unknown_receipt, "is not a receipt");
  auto* found = messages_.find(r->seq);
  if (found == nullptr || r->receive_count == 0)
    return fail(errc::unknown_receipt, "names no message in this queue (acked, purged or moved?)");
  auto& m = *found;
  if (m.receive_count != r->receive_count)
    return fail(errc::receipt_expired,
                "has expired: the message was delivered again since (receive " +
                    std::to_string(m.receive_count) + ")");
  if (m.state == phase::dead_lettering)
    return fail(errc::receipt_expired, "has expired: the message is being dead-lettered");
  return {&m, r->seq};
}

queue_state::settle_outcome queue_state::ack(const std::vector<std::string>& receipts,
                                             int64_t now_ms) {
  settle_outcome out;
  event_sink events{*this};
  for (const auto& text : receipts) {
    ack_outcome result;
    auto [m, seq] = find(text, result);
    if (m != nullptr) {
      ++counters_.acked;
      record(seq, m->receive_count, "acked", now_ms, {});
      events.remove(seq);
    }
    out.results.push_back(std::move(result));
  }
  events.emit(out.writes);
  return out;
}

void queue_state::fail(uint64_t seq, stored& m, int64_t at_ms, const std::string& error,
                       std::optional<int64_t> retry_after_ms, event_sink* events,
                       std::vector<outgoing_dead>& dead) {
  auto& f = failures_[seq];
  if (f.first_ms == 0)
    f.first_ms = at_ms;
  f.last_ms = at_ms;
  if (!error.empty())
    f.error = error;
  if (config_.max_receive_count > 0 && m.receive_count >= config_.max_receive_count) {
    dead_letter_message(seq, m, "max_receives", at_ms, dead);
    return;
  }
  // The jitter's key is the message's place in this queue, which a restart keeps.
  auto delay = retry_after_ms ? *retry_after_ms
                              : backoff_ms(config_.retry, m.receive_count,
                                           config_.name + "/" + std::to_string(seq));
  record(seq, m.receive_count, "retried", at_ms,
         (error.empty() ? std::string{"no error given"} : error) + "; next delivery in " +
             format_duration_ms(std::max<int64_t>(delay, 0)));
  if (delay <= 0) {
    unschedule(seq, m);
    m.visible_at_ms = at_ms;
    make_ready(seq, m);
  } else {
    schedule(seq, m, phase::delayed, at_ms + delay);
  }
  if (events != nullptr)
    events->state(seq, m);
}

void queue_state::dead_letter_message(uint64_t seq, stored& m, std::string reason, int64_t now_ms,
                                      std::vector<outgoing_dead>& dead) {
  auto message = body(seq, m);
  if (!message) {
    // Its body cannot be read back now: try again in a second rather than lose it.
    schedule(seq, m, phase::delayed, now_ms + 1000);
    return;
  }
  unschedule(seq, m);
  set_phase(m, phase::dead_lettering);
  const auto& f = failures_[seq];
  dead_letter d;
  d.message = **message;
  d.message.receive_count = m.receive_count;
  d.death.reason = std::move(reason);
  d.death.error = f.error;
  d.death.source = config_.name;
  d.death.receive_count = m.receive_count;
  d.death.first_failure_ms = f.first_ms;
  d.death.last_failure_ms = f.last_ms;
  d.death.dead_at_ms = now_ms;
  // With its id: the step one traces a stuck message for, which may outlive its sent step.
  record(seq, m.receive_count, "dead_lettered", now_ms,
         d.death.reason + " → " + config_.dead_letter_destination() +
             (f.error.empty() ? std::string{} : "; last error: " + f.error),
         d.message.id);
  dead.push_back({seq, std::move(d)});
}

queue_state::settle_outcome queue_state::nack(const std::vector<nack_request>& requests,
                                              int64_t now_ms) {
  settle_outcome out;
  event_sink events{*this};
  for (const auto& req : requests) {
    ack_outcome result;
    auto [m, seq] = find(req.receipt, result);
    if (m != nullptr && !req.dead_letter_reason.empty() && !config_.dead_letters()) {
      result.error_code = std::string{to_string(errc::invalid_argument)};
      result.error_message = "queue '" + config_.name + "' has no dead-letter target";
      m = nullptr;
    }
    if (m != nullptr && req.retry_after_ms > max_message_delay_ms) {
      result.error_code = std::string{to_string(errc::invalid_argument)};
      result.error_message = "queue '" + config_.name + "': retry-after " +
                             format_duration_ms(req.retry_after_ms) + " is longer than 15m";
      m = nullptr;
    }
    if (m != nullptr) {
      if (!req.dead_letter_reason.empty()) {
        auto& f = failures_[seq];
        f.first_ms = f.first_ms ? f.first_ms : now_ms;
        f.last_ms = now_ms;
        f.error =
            req.error.empty() ? req.dead_letter_reason : req.dead_letter_reason + ": " + req.error;
        dead_letter_message(seq, *m, "rejected", now_ms, out.dead);
      } else {
        std::optional<int64_t> after;
        if (req.retry_after_ms >= 0)
          after = req.retry_after_ms;
        fail(seq, *m, now_ms, req.error, after, &events, out.dead);
      }
    }
    out.results.push_back(std::move(result));
  }
  events.emit(out.writes);
  return out;
}

caf::expected<write_batch> queue_state::change_visibility(const std::string& receipt,
                                                          int64_t visibility_ms, int64_t now_ms) {
  if (visibility_ms < 0 || visibility_ms > max_visibility_ms)
    return make_error(errc::invalid_argument, "queue '" + config_.name + "': visibility " +
                                                  format_duration_ms(visibility_ms) +
                                                  " is outside 0s..12h");
  ack_outcome result;
  auto [m, seq] = find(receipt, result);
  if (m == nullptr)
    return make_error(*errc_from_string(result.error_code), result.error_message);
  if (m->state != phase::in_flight)
    return make_error(errc::receipt_expired, "queue '" + config_.name + "': receipt '" + receipt +
                                                 "' has expired: its lease ended");
  event_sink events{*this};
  if (visibility_ms == 0) {
    // Released on purpose: visible at once, no backoff, not a failure.
    unschedule(seq, *m);
    m->visible_at_ms = now_ms;
    set_phase(*m, phase::delayed); // journal it as not in flight
    events.state(seq, *m);
    make_ready(seq, *m);
  } else {
    schedule(seq, *m, phase::in_flight, now_ms + visibility_ms);
    events.state(seq, *m);
  }
  write_batch writes;
  events.emit(writes);
  return writes;
}

queue_state::tick_outcome queue_state::advance(int64_t now_ms) {
  tick_outcome out;
  while (!timers_.empty() && timers_.begin()->first <= now_ms) {
    auto [at, seq] = *timers_.begin();
    auto& m = *messages_.find(seq);
    if (m.state == phase::delayed) {
      make_ready(seq, m);
    } else { // in flight: the lease ended without an ack
      timers_.erase(timers_.begin());
      set_phase(m, phase::delayed);
      fail(seq, m, at, "visibility timeout expired", std::nullopt, nullptr, out.dead);
    }
  }
  // Retention: the oldest messages first; those waiting on a commit or a sink are left alone.
  event_sink events{*this};
  std::vector<uint64_t> expired;
  for (auto& [first, seg] : segments_) {
    if (seg.enqueued_at_ms + config_.retention_ms > now_ms)
      break;
    for (uint64_t seq = first; seq < first + seg.count; ++seq) {
      auto* m = messages_.find(seq);
      if (m == nullptr || m->state == phase::pending || m->state == phase::dead_lettering)
        continue;
      if (!config_.dead_letters())
        expired.push_back(seq);
      else
        dead_letter_message(seq, *m, "expired", now_ms, out.dead);
    }
  }
  for (auto seq : expired)
    events.remove(seq);
  events.emit(out.writes);
  return out;
}

std::optional<int64_t> queue_state::next_deadline() const {
  std::optional<int64_t> next;
  if (!timers_.empty())
    next = timers_.begin()->first;
  if (auto oldest = oldest_enqueued_at()) {
    auto expiry = *oldest + config_.retention_ms;
    next = next ? std::min(*next, expiry) : expiry;
  }
  return next;
}

write_batch queue_state::finish_dead_letters(const std::vector<uint64_t>& seqs) {
  event_sink events{*this};
  for (auto seq : seqs) {
    auto* m = messages_.find(seq);
    if (m == nullptr || m->state != phase::dead_lettering)
      continue;
    ++counters_.dead_lettered;
    events.remove(seq);
  }
  write_batch writes;
  events.emit(writes);
  return writes;
}

void queue_state::abort_dead_letters(const std::vector<uint64_t>& seqs, int64_t now_ms,
                                     int64_t retry_ms) {
  for (auto seq : seqs) {
    auto* m = messages_.find(seq);
    if (m != nullptr && m->state == phase::dead_lettering)
      schedule(seq, *m, phase::delayed, now_ms + retry_ms);
  }
}

std::pair<uint64_t, write_batch> queue_state::purge() {
  uint64_t purged = 0;
  event_sink events{*this};
  std::vector<uint64_t> victims;
  messages_.for_each([&](uint64_t seq, const stored& m) {
    if (m.state != phase::pending && m.state != phase::dead_lettering)
      victims.push_back(seq);
    return true;
  });
  for (auto seq : victims) {
    events.remove(seq);
    ++purged;
  }
  ready_.clear();
  ready_groups_.clear();
  write_batch writes;
  events.emit(writes);
  return {purged, std::move(writes)};
}

size_t queue_state::memory_bytes() const {
  // Node-based containers cost their element plus about 48 bytes of node and bucket; what a
  // FIFO group or a failure's text holds beyond that is left out (bounded by the depth).
  constexpr size_t node = 48;
  return body_bytes() + messages_.memory_bytes() + ready_.size() * sizeof(uint64_t) +
         segments_.size() * (sizeof(segment) + node) + cached_.size() * (8 + node) +
         timers_.size() * (16 + node) + failures_.size() * (sizeof(failure) + node) +
         group_of_.size() * (sizeof(std::string) + 8 + node) +
         ready_groups_.size() * sizeof(std::string) + pending_.size() * (32 + node) +
         dedup_.size() * (2 * sizeof(std::string) + 64 + node);
}

queue_stats queue_state::stats(int64_t now_ms) const {
  queue_stats s = counters_;
  s.name = config_.name;
  if (auto oldest = oldest_enqueued_at())
    s.oldest_age_ms = std::max<int64_t>(0, now_ms - *oldest);
  return s;
}

// --- recovery ----------------------------------------------------------------------------------

caf::error queue_state::restore_segment_index(uint64_t first_seq, uint32_t count,
                                              int64_t enqueued_at_ms) {
  if (count == 0)
    return make_error(errc::corruption,
                      "queue '" + config_.name + "': empty segment " + std::to_string(first_seq));
  if (first_seq < next_seq_)
    return make_error(errc::corruption, "queue '" + config_.name + "': segment " +
                                            std::to_string(first_seq) +
                                            " overlaps the one before it");
  add_segment(first_seq, count, enqueued_at_ms);
  return {};
}

caf::error queue_state::restore_segment(uint64_t first_seq, std::vector<envelope> batch) {
  if (batch.empty())
    return restore_segment_index(first_seq, 0, 0);
  if (auto err = restore_segment_index(first_seq, static_cast<uint32_t>(batch.size()),
                                       batch.front().enqueued_at_ms))
    return err;
  auto bodies = std::make_shared<std::vector<envelope_ptr>>();
  bodies->reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    if (config_.fifo)
      group_of_.emplace(first_seq + i, batch[i].group_id);
    bodies->push_back(std::make_shared<const envelope>(std::move(batch[i])));
  }
  auto& seg = segments_.at(first_seq);
  seg.bodies = std::move(bodies);
  cache(first_seq, seg);
  return {};
}

void queue_state::restore_events(uint64_t first_seq,
                                 const std::vector<codec::message_event>& events) {
  for (const auto& e : events) {
    // A range never reaches past its segment (a corrupt count cannot make this loop long).
    auto seg = segments_.find(first_seq);
    if (seg == segments_.end())
      return; // the segment is gone: nothing left to restore
    auto end = first_seq + seg->second.count;
    auto from = std::max(e.seq, first_seq);
    auto to = e.seq + e.count < e.seq ? end : std::min<uint64_t>(e.seq + e.count, end);
    for (auto seq = from; seq < to; ++seq) {
      auto* m = messages_.find(seq);
      if (m == nullptr)
        continue; // removed before
      if (e.removed) {
        messages_.erase(seq);
        failures_.erase(seq);
        group_of_.erase(seq);
        if (--seg->second.live == 0) {
          uncache(first_seq, seg->second);
          segments_.erase(seg);
          break; // its last message: the rest of the range had gone before
        }
        continue;
      }
      m->receive_count = e.receive_count;
      m->visible_at_ms = e.visible_at_ms;
      m->state = e.in_flight ? phase::in_flight : phase::delayed;
      if (e.first_failure_ms != 0 || e.last_failure_ms != 0 || !e.last_error.empty())
        failures_[seq] = {e.first_failure_ms, e.last_failure_ms, e.last_error};
    }
  }
}

void queue_state::finish_restore(int64_t now_ms) {
  reserved_seq_ = next_seq_ - 1; // the next send journals a fresh reservation
  // Due messages become ready now; the rest go on a timer at their journaled time, and the
  // first advance() applies the failure rules to leases that ended while the node was down.
  messages_.for_each([&](uint64_t seq, stored& m) {
    join_group(seq); // in sequence order: a group's order as it was sent
    auto next = m.state == phase::in_flight ? phase::in_flight : phase::delayed;
    m.state = phase::pending;
    if (next == phase::delayed && m.visible_at_ms <= now_ms)
      make_ready(seq, m);
    else
      schedule(seq, m, next, m.visible_at_ms);
    return true;
  });
}

} // namespace mailroom
