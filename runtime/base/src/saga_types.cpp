#include "mailroom/saga_types.hpp"

#include "saga_template.hpp"
#include "mailroom/error.hpp"
#include "mailroom/types.hpp"

#include <array>
#include <set>

namespace mailroom {

namespace {

constexpr std::array<std::string_view, 5> status_names{"RUNNING", "COMPLETED", "COMPENSATING",
                                                       "COMPENSATED", "PARKED"};

caf::error check_retry(const std::string& where, const saga_retry& r) {
  if (r.max_attempts < 1 || r.max_attempts > 100)
    return make_error(errc::invalid_argument, where + ": max attempts must be 1..100");
  if (r.base_ms < 0 || r.cap_ms < r.base_ms || r.factor < 1.0)
    return make_error(errc::invalid_argument,
                      where + ": retry policy needs 0 <= base <= cap and factor >= 1");
  return {};
}

} // namespace

std::string_view to_string(saga_status status) {
  return status_names[static_cast<size_t>(status)];
}

std::optional<saga_status> parse_saga_status(std::string_view text) {
  for (size_t i = 0; i < status_names.size(); ++i) {
    auto name = status_names[i];
    if (text.size() == name.size() &&
        std::equal(text.begin(), text.end(), name.begin(),
                   [](char a, char b) { return std::toupper(static_cast<unsigned char>(a)) == b; }))
      return static_cast<saga_status>(i);
  }
  return std::nullopt;
}

std::string saga_inbox(const std::string& definition) {
  return "saga." + definition;
}
std::string saga_dead_letter_sink(const std::string& definition) {
  return "saga." + definition + ".dead";
}

caf::error validate(const saga_definition& d) {
  if (auto err = validate_name("saga", d.name))
    return err;
  // The inbox is "saga.NAME.dead" at most: keep that a valid queue name too.
  if (d.name.size() > 70)
    return make_error(errc::invalid_argument, "saga '" + d.name + "': name longer than 70");
  auto where = "saga '" + d.name + "'";
  if (d.version == 0)
    return make_error(errc::invalid_argument, where + ": version must be 1 or more");
  if (d.steps.empty())
    return make_error(errc::invalid_argument, where + ": has no steps");
  std::set<std::string> names;
  for (const auto& s : d.steps) {
    auto step_where = where + " step '" + s.name + "'";
    if (auto err = validate_name("saga step", s.name))
      return make_error(errc::invalid_argument, where + ": " + message_of(err));
    if (!names.insert(s.name).second)
      return make_error(errc::invalid_argument, step_where + ": the name is used twice");
    if (auto err = validate_name("queue", s.queue))
      return make_error(errc::invalid_argument, step_where + ": " + message_of(err));
    if (!s.compensation_queue.empty())
      if (auto err = validate_name("queue", s.compensation_queue))
        return make_error(errc::invalid_argument, step_where + ": compensation " + message_of(err));
    if (s.command.empty())
      return make_error(errc::invalid_argument, step_where + ": has no command");
    if (auto err = saga_template::check(s.command))
      return make_error(errc::invalid_argument, step_where + ": command " + message_of(err));
    if (auto err = saga_template::check(s.compensation))
      return make_error(errc::invalid_argument, step_where + ": compensation " + message_of(err));
    if (s.timeout_ms < 10 || s.timeout_ms > 24LL * 3600 * 1000)
      return make_error(errc::invalid_argument, step_where + ": timeout must be 10ms..24h");
    if (auto err = check_retry(step_where, s.retry))
      return err;
    if (auto err = check_retry(step_where + " compensation", s.compensation_retry))
      return err;
  }
  if (!d.alarm_topic.empty())
    if (auto err = validate_name("topic", d.alarm_topic))
      return make_error(errc::invalid_argument, where + ": alarm " + message_of(err));
  return {};
}

saga_builder::saga_builder(std::string name, uint32_t version) {
  definition_.name = std::move(name);
  definition_.version = version;
}

saga_step& saga_builder::current() {
  if (definition_.steps.empty()) {
    if (misuse_.empty())
      misuse_ = "saga '" + definition_.name + "': a step setting came before any step()";
    definition_.steps.emplace_back();
  }
  return definition_.steps.back();
}

saga_builder& saga_builder::step(std::string name) {
  definition_.steps.emplace_back();
  definition_.steps.back().name = std::move(name);
  return *this;
}
saga_builder& saga_builder::to(std::string queue) {
  current().queue = std::move(queue);
  return *this;
}
saga_builder& saga_builder::command(std::string body_template) {
  current().command = std::move(body_template);
  return *this;
}
saga_builder& saga_builder::compensation(std::string body_template, std::string queue) {
  current().compensation = std::move(body_template);
  current().compensation_queue = std::move(queue);
  return *this;
}
saga_builder& saga_builder::timeout(std::chrono::milliseconds timeout) {
  current().timeout_ms = timeout.count();
  return *this;
}
saga_builder& saga_builder::retry(saga_retry policy) {
  current().retry = policy;
  return *this;
}
saga_builder& saga_builder::compensation_retry(saga_retry policy) {
  current().compensation_retry = policy;
  return *this;
}
saga_builder& saga_builder::alarm_topic(std::string topic) {
  definition_.alarm_topic = std::move(topic);
  return *this;
}

caf::expected<saga_definition> saga_builder::build() const {
  if (!misuse_.empty())
    return make_error(errc::invalid_argument, misuse_);
  if (auto err = validate(definition_))
    return err;
  return definition_;
}

} // namespace mailroom
