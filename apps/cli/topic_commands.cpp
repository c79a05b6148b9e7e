// `mailroom topic ...`, `mailroom publish` and `mailroom route`.
#include "commands.hpp"

#include <algorithm>
#include <array>
#include <iomanip>
#include <iostream>
#include <string_view>

namespace mailroom::cli {

namespace {

/// `topic show` counters in display order; the subscriptions follow them.
constexpr std::array<std::string_view, 6> topic_fields = {
    "name", "published", "deliveries", "unmatched", "dead_lettered", "subscriptions",
};

nlohmann::json subscription_json(const subscription& s) {
  return {{"queue", s.queue},
          {"filter_policy", s.filter_policy},
          {"filter_scope", s.filter_on_body ? "body" : "attributes"},
          {"raw", s.raw},
          {"dead_letter", s.dead_letter_target}};
}

nlohmann::json topic_json(const topic_config& config, const topic_stats& stats) {
  auto subs = nlohmann::json::array();
  for (const auto& s : config.subscriptions)
    subs.push_back(subscription_json(s));
  return {{"name", config.name},          {"subscriptions", subs},
          {"published", stats.published}, {"deliveries", stats.deliveries},
          {"unmatched", stats.unmatched}, {"dead_lettered", stats.dead_lettered}};
}

/// One line per subscription under the counters, queue names in one column:
///   billing  raw        filter on attributes {"kind": ["paid"]}  dead-letter billing-dlq
void print_subscriptions(const std::vector<subscription>& subs) {
  size_t width = 0;
  for (const auto& s : subs)
    width = std::max(width, s.queue.size());
  for (const auto& s : subs) {
    std::cout << "  " << std::left << std::setw(static_cast<int>(width + 2)) << s.queue
              << std::setw(11) << (s.raw ? "raw" : "enveloped");
    if (s.filter_policy.empty())
      std::cout << "every message";
    else
      std::cout << "filter on " << (s.filter_on_body ? "body " : "attributes ") << s.filter_policy;
    if (!s.dead_letter_target.empty())
      std::cout << "  dead-letter " << s.dead_letter_target;
    std::cout << "\n";
  }
}

/// "1 copy", "2 copies".
std::string counted(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

/// "; matched no subscription" and the like, after what the publish delivered.
void print_outcome_notes(const publish_result& r, bool single) {
  if (r.unmatched > 0)
    std::cout << "; " << (single ? "" : std::to_string(r.unmatched) + " ")
              << "matched no subscription";
  if (r.dead_lettered > 0)
    std::cout << "; " << r.dead_lettered << " dead-lettered";
  std::cout << "\n";
}

} // namespace

int run_topic_create(catalog& c, const std::string& topic) {
  return exit_code_of(c.create_topic({topic, {}}));
}

int run_topic_ls(catalog& c, bool json) {
  return print_names(c.list_topics(), json);
}

int run_topic_show(client& c, const std::string& topic, bool json) {
  auto config = c.topic_configuration(topic);
  if (!config)
    return print_error(config.error());
  auto stats = c.topic_statistics(topic);
  if (!stats)
    return print_error(stats.error());
  auto j = topic_json(*config, *stats);
  if (json) {
    std::cout << json_line(j) << "\n";
    return ok;
  }
  // The block shows the count; the JSON has the list in that field instead.
  j["subscriptions"] = config->subscriptions.size();
  print_aligned(j, topic_fields);
  print_subscriptions(config->subscriptions);
  return ok;
}

int run_topic_delete(catalog& c, const std::string& topic) {
  return exit_code_of(c.delete_topic(topic));
}

int run_topic_subscribe(catalog& c, const std::string& topic, const subscription& sub) {
  return exit_code_of(c.subscribe(topic, sub));
}

int run_topic_unsubscribe(catalog& c, const std::string& topic, const std::string& queue) {
  return exit_code_of(c.unsubscribe(topic, queue));
}

int run_publish(data_plane& c, const std::string& topic, const outgoing_message& message,
                bool json) {
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
  print_outcome_notes(*r, true);
  return ok;
}

int run_publish_lines(data_plane& c, const std::string& topic, const outgoing_message& prototype,
                      std::istream& in, bool json) {
  auto batch = messages_from_lines(prototype, in);
  // As for `send -`, empty input is nothing to do rather than an error (the node refuses an
  // empty publish); a script still gets its one result object.
  auto r =
      batch.empty() ? caf::expected<publish_result>{publish_result{}} : c.publish(topic, batch);
  if (!r)
    return print_error(r.error());
  if (json) {
    std::cout << json_line({{"ids", r->ids},
                            {"deliveries", r->deliveries},
                            {"unmatched", r->unmatched},
                            {"dead_lettered", r->dead_lettered}})
              << "\n";
    return ok;
  }
  for (const auto& id : r->ids)
    std::cout << id << "\n";
  std::cout << "published " << counted(r->ids.size(), "message", "messages") << ", delivered "
            << counted(r->deliveries, "copy", "copies");
  print_outcome_notes(*r, false);
  return ok;
}

std::vector<outgoing_message> messages_from_lines(const outgoing_message& prototype,
                                                  std::istream& in) {
  std::vector<outgoing_message> batch;
  for (std::string line; std::getline(in, line);) {
    if (line.empty())
      continue;
    batch.push_back(prototype);
    batch.back().body = std::move(line);
  }
  return batch;
}

int run_route(data_plane& c, const std::string& router,
              const std::vector<outgoing_message>& messages, bool json) {
  // Empty input is nothing to do, as for `publish -`.
  auto r =
      messages.empty() ? caf::expected<route_result>{route_result{}} : c.route(router, messages);
  if (!r)
    return print_error(r.error());
  if (json)
    std::cout << json_line(
                     {{"routed", r->routed}, {"unroutable", r->unroutable}, {"copies", r->copies}})
              << "\n";
  else
    std::cout << "routed " << counted(r->routed, "message", "messages") << " as "
              << counted(r->copies, "copy", "copies") << "; " << r->unroutable
              << " unroutable (dead-lettered)\n";
  return ok;
}

} // namespace mailroom::cli
