#include "mailroom/types.hpp"

#include "mailroom/duration.hpp"
#include "mailroom/error.hpp"

#include <cctype>
#include <cmath>

namespace mailroom {

size_t envelope::payload_size() const {
  size_t n = body.size();
  for (const auto& a : attributes)
    n += a.key.size() + a.value.size();
  return n;
}

const std::string* envelope::attribute(std::string_view key) const {
  for (const auto& a : attributes)
    if (a.key == key)
      return &a.value;
  return nullptr;
}

bool redrive_filter::matches(const dead_letter& d) const {
  if (!reason.empty() && d.death.reason != reason)
    return false;
  if (!source.empty() && d.death.source != source)
    return false;
  if (!error_contains.empty() && d.death.error.find(error_contains) == std::string::npos)
    return false;
  if (!attribute_key.empty()) {
    bool found = false;
    for (const auto& a : d.message.attributes)
      if (a.key == attribute_key && (attribute_value.empty() || a.value == attribute_value))
        found = true;
    if (!found)
      return false;
  }
  return true;
}

caf::error validate_name(std::string_view what, const std::string& name) {
  auto bad = [&](const char* rule) {
    return make_error(errc::invalid_argument, std::string{what} + " name '" + name + "' " + rule);
  };
  if (name.empty() || name.size() > 80)
    return bad("must be 1 to 80 characters");
  for (char ch : name)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.'))
      return bad("may hold only letters, digits, '-', '_' and '.'");
  return {};
}

envelope for_dead_letter_queue(dead_letter d) {
  d.message.history.push_back(std::move(d.death));
  return std::move(d.message);
}

std::string queue_config::dead_letter_destination() const {
  if (!dead_letter_queue.empty())
    return "queue '" + dead_letter_queue + "'";
  return "sink '" + dead_letter_target + "'";
}

caf::error validate(const queue_config& c) {
  auto bad = [&](const std::string& what) {
    return make_error(errc::invalid_argument, "queue '" + c.name + "': " + what);
  };
  if (auto err = validate_name("queue", c.name))
    return err;
  if (c.visibility_timeout_ms <= 0 || c.visibility_timeout_ms > max_visibility_ms)
    return bad("visibility timeout " + format_duration_ms(c.visibility_timeout_ms) +
               " is outside 1ms..12h");
  if (c.delay_ms < 0 || c.delay_ms > max_message_delay_ms)
    return bad("delay " + format_duration_ms(c.delay_ms) + " is outside 0s..15m");
  if (c.retention_ms < 1000)
    return bad("retention " + format_duration_ms(c.retention_ms) + " is shorter than 1s");
  if (c.max_message_bytes == 0 || c.max_message_bytes > max_message_bytes_limit)
    return bad("max message size " + std::to_string(c.max_message_bytes) +
               " bytes is outside 1..64MiB");
  if (c.max_receive_count > 0 && !c.dead_letters())
    return bad("max receive count needs a dead-letter target");
  if (!c.dead_letter_target.empty() && !c.dead_letter_queue.empty())
    return bad("dead letters go to a sink or to a queue, not both ('" + c.dead_letter_target +
               "' and '" + c.dead_letter_queue + "')");
  if (c.dead_letter_target == c.name || c.dead_letter_queue == c.name)
    return bad("dead-letter target cannot be the queue itself");
  if (!c.dead_letter_queue.empty())
    if (auto err = validate_name("dead-letter queue", c.dead_letter_queue))
      return bad(message_of(err));
  if (c.tags.size() > max_queue_tags)
    return bad(std::to_string(c.tags.size()) + " tags are more than " +
               std::to_string(max_queue_tags));
  for (const auto& [key, value] : c.tags)
    if (key.empty() || key.size() > 128 || value.size() > 256)
      return bad("tag '" + key.substr(0, 128) + "' needs a key of 1 to 128 bytes and a value of " +
                 "at most 256");
  if (c.receive_wait_ms < 0 || c.receive_wait_ms > 20'000)
    return bad("receive wait " + format_duration_ms(c.receive_wait_ms) + " is outside 0s..20s");
  if (c.dedup_window_ms < 1000 || c.dedup_window_ms > 24LL * 3600 * 1000)
    return bad("dedup window " + format_duration_ms(c.dedup_window_ms) + " is outside 1s..24h");
  if (c.retry.base_ms < 0 || c.retry.cap_ms < c.retry.base_ms ||
      !(std::isfinite(c.retry.factor) && c.retry.factor >= 1.0)) // NaN fails every comparison
    return bad("retry policy needs 0 <= base <= cap and a finite factor >= 1");
  return {};
}

} // namespace mailroom
