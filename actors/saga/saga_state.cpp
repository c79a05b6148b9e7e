#include "saga/saga_state.hpp"

#include "backoff.hpp"
#include "saga_template.hpp"
#include "mailroom/duration.hpp"
#include "mailroom/error.hpp"
#include "mailroom/ids.hpp"
#include "mailroom/saga_types.hpp" // saga_attribute

namespace mailroom {

namespace {

const char* direction(bool compensation) {
  return compensation ? "undo" : "do";
}

std::string attribute_or_empty(const envelope& m, std::string_view key) {
  auto v = m.attribute(key);
  return v ? *v : std::string{};
}

bool waiting(const saga_attempt& a) {
  return a.ended_at_ms == 0;
}

} // namespace

saga_state::saga_state(std::shared_ptr<const saga_definition> definition, std::string id,
                       uint64_t seq, nlohmann::json data, std::string idempotency_key,
                       int64_t now_ms)
    : definition_(std::move(definition)), data_(std::move(data)) {
  instance_.id = std::move(id);
  instance_.seq = seq;
  instance_.definition = definition_->name;
  instance_.version = definition_->version;
  instance_.idempotency_key = std::move(idempotency_key);
  instance_.started_at_ms = now_ms;
  instance_.updated_at_ms = now_ms;
}

saga_state::saga_state(std::shared_ptr<const saga_definition> definition, saga_instance journaled)
    : definition_(std::move(definition)), instance_(std::move(journaled)) {
  data_ = nlohmann::json::parse(instance_.data, nullptr, false);
  if (!data_.is_object())
    data_ = nlohmann::json::object();
}

saga_state::effects saga_state::begin(int64_t now_ms) {
  effects out;
  out.changed = true;
  if (definition_->steps.empty())
    instance_.status = saga_status::completed;
  else
    begin_activity(0, false, now_ms, out);
  return out;
}

saga_state::effects saga_state::recover(int64_t now_ms) {
  effects out;
  if (finished(instance_.status) || instance_.status == saga_status::parked ||
      instance_.timeline.empty())
    return out;
  auto& activity = instance_.timeline.back();
  if (activity.attempts.empty() || !waiting(activity.attempts.back()))
    return out; // a retry is due later: on_timer sends it
  // The command may or may not have reached its queue before the crash; the same dedup id
  // makes sending it again harmless. Its timeout restarts from now. A fresh message id: should
  // the queue know the command already, it answers with the first one (see command_sent).
  activity.attempts.back().sent_at_ms = now_ms;
  activity.attempts.back().command_id = new_message_id();
  out.changed = true;
  if (auto c = command_for_last_attempt())
    out.sends.push_back(std::move(*c));
  return out;
}

caf::expected<saga_state::command> saga_state::command_for_last_attempt() const {
  const auto& activity = instance_.timeline.back();
  const auto& step = step_of(activity);
  auto body = saga_template::render(activity.compensation ? step.compensation : step.command, data_,
                                    instance_.id);
  if (!body)
    return std::move(body.error());
  auto number = std::to_string(activity.attempts.back().number);
  const char* action = direction(activity.compensation);
  command c;
  c.queue = activity.compensation ? step.undo_queue() : step.queue;
  c.activity = instance_.timeline.size() - 1;
  c.attempt = activity.attempts.size() - 1;
  c.message.id = activity.attempts.back().command_id;
  c.message.body = std::move(*body);
  c.message.dedup_id = instance_.id + "/" + step.name + "/" + action + "/" + number;
  c.message.correlation_id = instance_.id;
  c.message.attributes = {{std::string{saga_attribute::id}, instance_.id},
                          {std::string{saga_attribute::step}, step.name},
                          {std::string{saga_attribute::action}, action},
                          {std::string{saga_attribute::attempt}, number},
                          {std::string{saga_attribute::reply_to}, saga_inbox(definition_->name)}};
  return c;
}

void saga_state::begin_activity(uint32_t step, bool compensation, int64_t now, effects& out) {
  instance_.timeline.push_back({step, compensation, {}, 0});
  send_attempt(now, out);
}

uint32_t saga_state::attempts_so_far(uint32_t step, bool compensation) const {
  uint32_t n = 0;
  for (const auto& a : instance_.timeline)
    if (a.step == step && a.compensation == compensation)
      n += static_cast<uint32_t>(a.attempts.size());
  return n;
}

void saga_state::send_attempt(int64_t now, effects& out) {
  out.changed = true;
  instance_.updated_at_ms = now;
  auto& activity = instance_.timeline.back();
  activity.retry_at_ms = 0;
  saga_attempt attempt;
  attempt.number = attempts_so_far(activity.step, activity.compensation) + 1;
  attempt.sent_at_ms = now;
  // Named before it is sent, so the transition that sends it journals its id.
  attempt.command_id = new_message_id();
  activity.attempts.push_back(attempt);
  auto c = command_for_last_attempt();
  if (!c) {
    // The data lacks a field the template needs: no retry can mend that.
    attempt_failed(activity.attempts.back(), "rejected", message_of(c.error()), false, now, out);
    return;
  }
  out.sends.push_back(std::move(*c));
}

void saga_state::command_sent(size_t activity, size_t attempt, const std::string& message_id) {
  if (activity < instance_.timeline.size() &&
      attempt < instance_.timeline[activity].attempts.size())
    instance_.timeline[activity].attempts[attempt].command_id = message_id;
}

saga_state::effects saga_state::on_reply(const saga_reply& reply, int64_t now_ms) {
  effects out;
  if (finished(instance_.status) || instance_.status == saga_status::parked ||
      instance_.timeline.empty()) {
    out.ignored = "the saga is " + std::string{to_string(instance_.status)};
    return out;
  }
  auto& activity = instance_.timeline.back();
  const auto& step = step_of(activity);
  if (reply.step != step.name || reply.compensation != activity.compensation) {
    out.ignored = "a reply for " + std::string{direction(reply.compensation)} + " '" + reply.step +
                  "', which is not the step in progress";
    return out;
  }
  saga_attempt* attempt = nullptr;
  for (auto& a : activity.attempts)
    if (a.number == reply.attempt)
      attempt = &a;
  if (!attempt) {
    out.ignored = "attempt " + std::to_string(reply.attempt) + " of this activity was not sent";
    return out;
  }
  if (reply.what == saga_reply::result::ok) {
    // A late success of an attempt that timed out still completes the step: the service did
    // the work, and a newer attempt carries a different dedup id.
    if (attempt->outcome == "ok") {
      out.ignored = "a duplicate reply";
      return out;
    }
    for (auto& a : activity.attempts)
      if (&a != attempt && waiting(a)) {
        a.ended_at_ms = now_ms;
        a.outcome = "abandoned";
      }
    attempt->ended_at_ms = now_ms;
    attempt->outcome = "ok";
    attempt->error.clear();
    attempt->reply_id = reply.reply_id;
    out.step_latency_ms = now_ms - attempt->sent_at_ms;
    activity.retry_at_ms = 0;
    step_succeeded(reply, now_ms, out);
    return out;
  }
  if (!waiting(*attempt) || attempt != &activity.attempts.back()) {
    out.ignored = "a failure reply for an attempt already settled";
    return out;
  }
  attempt->reply_id = reply.reply_id;
  attempt_failed(*attempt, reply.what == saga_reply::result::rejected ? "rejected" : "failed",
                 reply.body, reply.what == saga_reply::result::failed, now_ms, out);
  return out;
}

void saga_state::step_succeeded(const saga_reply& reply, int64_t now, effects& out) {
  out.changed = true;
  instance_.updated_at_ms = now;
  const auto& activity = instance_.timeline.back();
  if (!activity.compensation) {
    // Only an object is merged; most replies carry none, and parsing costs more than the step.
    auto first = reply.body.find_first_not_of(" \t\r\n");
    if (first != std::string::npos && reply.body[first] == '{') {
      auto result = nlohmann::json::parse(reply.body, nullptr, false);
      if (result.is_object()) {
        data_.update(result);
        data_text_.clear();
      }
    }
    instance_.completed_steps = activity.step + 1;
    if (instance_.cancelled)
      start_compensation(now, out);
    else if (instance_.completed_steps < definition_->steps.size())
      begin_activity(instance_.completed_steps, false, now, out);
    else
      instance_.status = saga_status::completed;
    return;
  }
  // Compensated: the next older step that has something to undo, or done.
  for (auto s = static_cast<int64_t>(activity.step) - 1; s >= 0; --s)
    if (!definition_->steps[static_cast<size_t>(s)].compensation.empty()) {
      begin_activity(static_cast<uint32_t>(s), true, now, out);
      return;
    }
  instance_.status = saga_status::compensated;
}

void saga_state::attempt_failed(saga_attempt& attempt, std::string outcome, std::string error,
                                bool retryable, int64_t now, effects& out) {
  out.changed = true;
  instance_.updated_at_ms = now;
  attempt.ended_at_ms = now;
  attempt.outcome = std::move(outcome);
  attempt.error = std::move(error);
  auto& activity = instance_.timeline.back();
  const auto& step = step_of(activity);
  const auto& policy = activity.compensation ? step.compensation_retry : step.retry;
  // A cancelled saga does not retry the step in flight: it compensates.
  bool cancelling = instance_.cancelled && !activity.compensation;
  if (retryable && !cancelling && activity.attempts.size() < policy.max_attempts) {
    auto count = static_cast<uint32_t>(activity.attempts.size());
    activity.retry_at_ms =
        now + backoff_ms({policy.base_ms, policy.factor, policy.cap_ms}, count,
                         instance_.id + "/" + step.name + direction(activity.compensation));
    return;
  }
  auto why = attempt.error.empty() ? attempt.outcome : attempt.error;
  failed_for_good(std::string{activity.compensation ? "compensation of '" : "step '"} + step.name +
                      "' failed after " + std::to_string(activity.attempts.size()) +
                      " attempt(s): " + why,
                  now, out);
}

void saga_state::failed_for_good(const std::string& error, int64_t now, effects& out) {
  const auto& activity = instance_.timeline.back();
  if (!activity.compensation) {
    if (!instance_.cancelled)
      instance_.error = error;
    start_compensation(now, out);
    return;
  }
  instance_.status = saga_status::parked;
  instance_.error = error;
  out.parked = true;
}

void saga_state::start_compensation(int64_t now, effects& out) {
  out.changed = true;
  instance_.status = saga_status::compensating;
  for (auto s = static_cast<int64_t>(instance_.completed_steps) - 1; s >= 0; --s)
    if (!definition_->steps[static_cast<size_t>(s)].compensation.empty()) {
      begin_activity(static_cast<uint32_t>(s), true, now, out);
      return;
    }
  instance_.status = saga_status::compensated;
}

saga_state::effects saga_state::on_timer(int64_t now_ms) {
  effects out;
  auto due = wake_at();
  if (due == 0 || now_ms < due)
    return out;
  auto& activity = instance_.timeline.back();
  if (!activity.attempts.empty() && waiting(activity.attempts.back())) {
    const auto& step = step_of(activity);
    attempt_failed(activity.attempts.back(), "timed_out",
                   "no reply within " + format_duration_ms(step.timeout_ms), true, now_ms, out);
  } else {
    send_attempt(now_ms, out);
  }
  return out;
}

saga_state::effects saga_state::send_failed(size_t activity, size_t attempt,
                                            const std::string& error, int64_t now_ms) {
  effects out;
  if (activity + 1 != instance_.timeline.size() ||
      attempt + 1 != instance_.timeline[activity].attempts.size() ||
      !waiting(instance_.timeline[activity].attempts[attempt]) || finished(instance_.status) ||
      instance_.status == saga_status::parked)
    return out;
  attempt_failed(instance_.timeline[activity].attempts[attempt], "failed",
                 "sending the command failed: " + error, true, now_ms, out);
  return out;
}

caf::expected<saga_state::effects> saga_state::cancel(int64_t now_ms) {
  effects out;
  if (finished(instance_.status))
    return make_error(errc::invalid_argument, "saga '" + instance_.id + "' is " +
                                                  std::string{to_string(instance_.status)} +
                                                  " already; there is nothing to cancel");
  if (instance_.status != saga_status::running)
    return out; // compensating already
  out.changed = true;
  instance_.cancelled = true;
  instance_.error = "cancelled";
  instance_.updated_at_ms = now_ms;
  auto& activity = instance_.timeline.back();
  if (!activity.attempts.empty() && waiting(activity.attempts.back())) {
    // The step in flight may still succeed: wait for its outcome, then compensate it too.
    instance_.status = saga_status::compensating;
    return out;
  }
  activity.retry_at_ms = 0;
  start_compensation(now_ms, out);
  return out;
}

caf::expected<saga_state::effects> saga_state::resume(int64_t now_ms) {
  if (instance_.status != saga_status::parked)
    return make_error(errc::invalid_argument, "saga '" + instance_.id + "' is " +
                                                  std::string{to_string(instance_.status)} +
                                                  ", not PARKED; only a parked saga resumes");
  effects out;
  instance_.status = saga_status::compensating;
  instance_.error.clear();
  auto step = instance_.timeline.back().step;
  begin_activity(step, true, now_ms, out); // a fresh round of attempts for the same compensation
  return out;
}

int64_t saga_state::wake_at() const {
  if (finished(instance_.status) || instance_.status == saga_status::parked ||
      instance_.timeline.empty())
    return 0;
  const auto& activity = instance_.timeline.back();
  if (!activity.attempts.empty() && waiting(activity.attempts.back()))
    return activity.attempts.back().sent_at_ms + step_of(activity).timeout_ms;
  return activity.retry_at_ms;
}

const saga_instance& saga_state::instance() {
  if (data_text_.empty())
    data_text_ = data_.dump();
  instance_.data = data_text_;
  return instance_;
}

const saga_attempt* saga_state::parked_attempt() const {
  if (instance_.status != saga_status::parked || instance_.timeline.empty() ||
      instance_.timeline.back().attempts.empty())
    return nullptr;
  return &instance_.timeline.back().attempts.back();
}

std::optional<saga_reply> read_saga_reply(const envelope& message) {
  saga_reply r;
  r.saga_id = attribute_or_empty(message, saga_attribute::id);
  r.step = attribute_or_empty(message, saga_attribute::step);
  auto action = attribute_or_empty(message, saga_attribute::action);
  if (r.saga_id.empty() || (action != "do" && action != "undo" && action != "resume"))
    return std::nullopt;
  r.compensation = action != "do";
  r.reply_id = message.id;
  r.resume = action == "resume";
  if (r.resume)
    return r; // only the saga id matters
  auto attempt = attribute_or_empty(message, saga_attribute::attempt);
  auto outcome = attribute_or_empty(message, saga_attribute::outcome);
  try {
    r.attempt = static_cast<uint32_t>(std::stoul(attempt));
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (outcome == "ok")
    r.what = saga_reply::result::ok;
  else if (outcome == "failed")
    r.what = saga_reply::result::failed;
  else if (outcome == "rejected")
    r.what = saga_reply::result::rejected;
  else
    return std::nullopt;
  r.body = message.body;
  return r;
}

} // namespace mailroom
