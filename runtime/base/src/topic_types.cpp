#include "mailroom/topic_types.hpp"

#include "filter_policy.hpp"
#include "mailroom/error.hpp"

#include <set>

namespace mailroom {

caf::error validate(const topic_config& config) {
  if (auto err = validate_name("topic", config.name))
    return err;
  if (config.display_name.size() > 100)
    return make_error(errc::invalid_argument, "topic '" + config.name + "': a display name of " +
                                                  std::to_string(config.display_name.size()) +
                                                  " bytes is longer than 100");
  std::set<std::string> queues;
  for (const auto& s : config.subscriptions) {
    auto bad = [&](const std::string& why) {
      return make_error(errc::invalid_argument,
                        "topic '" + config.name + "': subscription '" + s.queue + "': " + why);
    };
    if (auto err = validate_name("queue", s.queue))
      return bad(message_of(err));
    if (!queues.insert(s.queue).second)
      return bad("the queue is subscribed twice");
    if (!s.dead_letter_target.empty())
      if (auto err = validate_name("dead-letter sink", s.dead_letter_target))
        return bad(message_of(err));
    if (!s.dead_letter_queue.empty())
      if (auto err = validate_name("dead-letter queue", s.dead_letter_queue))
        return bad(message_of(err));
    if (!s.dead_letter_target.empty() && !s.dead_letter_queue.empty())
      return bad("what the queue refuses goes to a sink or to a queue, not both");
    if (s.dead_letter_queue == s.queue)
      return bad("the dead-letter queue cannot be the subscribed queue itself");
    if (s.filter_policy.empty() && s.filter_on_body)
      return bad("a body filter needs a filter policy");
    if (!s.filter_policy.empty()) {
      auto scope = s.filter_on_body ? filter_scope::body : filter_scope::attributes;
      if (auto policy = filter_policy::parse(s.filter_policy, scope); !policy)
        return bad(message_of(policy.error()));
    }
  }
  return {};
}

} // namespace mailroom
