// `mailroom topic ...` and `mailroom publish`.
#include "commands.hpp"

#include <iostream>

namespace mailroom::cli {

int run_topic_create(client& c, const std::string& topic) {
  if (auto err = c.create_topic(topic))
    return print_error(err);
  return ok;
}

int run_topic_ls(client& c, bool json) {
  auto names = c.list_topics();
  if (!names)
    return print_error(names.error());
  for (const auto& name : *names)
    std::cout << (json ? json_line({{"name", name}}) : name) << "\n";
  return ok;
}

int run_topic_show(client& c, const std::string& topic, bool json) {
  auto described = c.describe_topic(topic);
  if (!described)
    return print_error(described.error());
  const auto& [config, stats] = *described;
  if (json) {
    auto subs = nlohmann::json::array();
    for (const auto& s : config.subscriptions)
      subs.push_back({{"queue", s.queue},
                      {"filter_policy", s.filter_policy},
                      {"filter_scope", s.filter_on_body ? "body" : "attributes"},
                      {"raw", s.raw},
                      {"dead_letter", s.dead_letter_target}});
    std::cout << json_line({{"name", config.name},
                            {"subscriptions", subs},
                            {"published", stats.published},
                            {"deliveries", stats.deliveries},
                            {"unmatched", stats.unmatched},
                            {"dead_lettered", stats.dead_lettered}})
              << "\n";
    return ok;
  }
  std::cout << "topic " << config.name << ": " << stats.published << " published, "
            << stats.deliveries << " deliveries, " << stats.unmatched << " unmatched, "
            << stats.dead_lettered << " dead-lettered (since the node started)\n";
  for (const auto& s : config.subscriptions) {
    std::cout << "  " << s.queue << (s.raw ? "  raw" : "  enveloped");
    if (!s.filter_policy.empty())
      std::cout << "  filter" << (s.filter_on_body ? " (body) " : " ") << s.filter_policy;
    if (!s.dead_letter_target.empty())
      std::cout << "  dead-letter " << s.dead_letter_target;
    std::cout << "\n";
  }
  return ok;
}

int run_topic_delete(client& c, const std::string& topic) {
  if (auto err = c.delete_topic(topic))
    return print_error(err);
  return ok;
}

int run_topic_subscribe(client& c, const std::string& topic, const subscription& sub) {
  if (auto err = c.subscribe(topic, sub))
    return print_error(err);
  return ok;
}

int run_topic_unsubscribe(client& c, const std::string& topic, const std::string& queue) {
  if (auto err = c.unsubscribe(topic, queue))
    return print_error(err);
  return ok;
}

int run_publish(client& c, const std::string& topic, const outgoing_message& message, bool json) {
  auto r = c.publish(topic, {message});
  if (!r)
    return print_error(r.error());
  if (json) {
    std::cout << json_line({{"id", r->ids.at(0)},
                            {"deliveries", r->deliveries},
                            {"unmatched", r->unmatched},
                            {"dead_lettered", r->dead_lettered}})
              << "\n";
    return ok;
  }
  std::cout << r->ids.at(0) << "\tdelivered to " << r->deliveries << " subscription(s)";
  if (r->unmatched > 0)
    std::cout << "; matched no subscription";
  if (r->dead_lettered > 0)
    std::cout << "; " << r->dead_lettered << " dead-lettered";
  std::cout << "\n";
  return ok;
}

} // namespace mailroom::cli
