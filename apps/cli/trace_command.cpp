// `mailroom trace ID`: a message's story and the messages it caused.
#include "commands.hpp"

#include "mailroom/duration.hpp"

#include <iostream>

namespace mailroom::cli {

namespace {

nlohmann::json to_json(const trace_step& s) {
  return {{"id", s.id},
          {"queue", s.queue},
          {"kind", s.kind},
          {"at_ms", s.at_ms},
          {"receive_count", s.receive_count},
          {"detail", s.detail},
          {"causation_id", s.causation_id},
          {"correlation_id", s.correlation_id}};
}

} // namespace

int run_trace(data_plane& c, const std::string& id, uint32_t depth, bool json) {
  auto stories = c.trace(id, depth);
  if (!stories)
    return print_error(stories.error());
  for (const auto& story : *stories) {
    if (json) {
      for (const auto& s : story)
        std::cout << json_line(to_json(s)) << "\n";
      continue;
    }
    const auto& first = story.front();
    std::cout << "message " << first.id;
    for (const auto& s : story)
      if (!s.causation_id.empty()) {
        std::cout << "  caused by " << s.causation_id;
        if (!s.correlation_id.empty() && s.correlation_id != s.causation_id)
          std::cout << ", correlation " << s.correlation_id;
        break;
      }
    std::cout << "\n";
    for (const auto& s : story) {
      std::cout << "  " << format_timestamp_ms(s.at_ms) << "  " << s.queue << "  " << s.kind;
      if (s.kind == "delivered" || s.kind == "retried" || s.kind == "acked")
        std::cout << "  (delivery " << s.receive_count << ")";
      if (!s.detail.empty())
        std::cout << "  " << s.detail;
      std::cout << "\n";
    }
  }
  return ok;
}

} // namespace mailroom::cli
