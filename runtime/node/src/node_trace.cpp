// node: `mailroom trace` — a message's story from the trace rows the queues journal when the
// node's `trace` option is on, and the stories of the messages it caused.
#include "mailroom/node.hpp"

#include "codec.hpp"
#include "journal.hpp"
#include "mailroom/error.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace mailroom {

caf::expected<std::vector<std::vector<trace_step>>> node::trace(const std::string& id,
                                                                uint32_t depth) {
  if (id.empty())
    return make_error(errc::invalid_argument, "trace: a message id is required");
  depth = std::min(depth, max_trace_depth); // each generation is a scan of the trace rows
  std::vector<std::vector<trace_step>> stories;
  std::set<std::string> seen;
  std::vector<std::string> generation{id};
  for (uint32_t level = 0; level <= depth && !generation.empty(); ++level) {
    std::set<std::string> wanted(generation.begin(), generation.end());
    std::map<std::string, std::vector<trace_step>> found;
    std::vector<std::string> children;
    // A queue's steps after sent/redriven name the message by its place in the queue; the
    // sent or redriven step, which comes first, says whose place that is.
    std::map<std::pair<std::string, uint64_t>, std::string> id_at;
    // One scan per generation: the rows are blobs of many messages' events, oldest first.
    auto err = journal_->read_trace([&](const std::string&, uint64_t, const std::string& blob) {
      auto events = codec::decode_trace(blob);
      if (!events)
        return events.error();
      for (auto& event : *events) { // decode_trace gave each step of a range its own
        auto& e = event.step;
        auto seq = event.seq;
        // Only the wanted ones are kept; a place taken by another message (a queue deleted
        // and made again numbers from 1) stops naming the wanted one.
        if (seq != 0 && !e.id.empty()) {
          if (wanted.count(e.id))
            id_at[{e.queue, seq}] = e.id;
          else
            id_at.erase({e.queue, seq});
        } else if (auto it = id_at.find({e.queue, seq}); seq != 0 && it != id_at.end()) {
          e.id = it->second;
        }
        if (e.id.empty())
          continue; // not wanted, or its sent step is older than the trace kept
        if (wanted.count(e.id))
          found[e.id].push_back(e);
        if (!e.causation_id.empty() && wanted.count(e.causation_id) && e.kind == "sent" &&
            !seen.count(e.id) && !wanted.count(e.id))
          children.push_back(e.id);
      }
      return caf::error{};
    });
    if (err)
      return err;
    for (const auto& g : generation)
      if (auto it = found.find(g); it != found.end()) {
        seen.insert(g);
        stories.push_back(std::move(it->second));
      }
    std::sort(children.begin(), children.end());
    children.erase(std::unique(children.begin(), children.end()), children.end());
    generation = std::move(children);
  }
  if (stories.empty() || stories.front().front().id != id)
    return make_error(errc::not_found,
                      "no trace of message '" + id + "'" +
                          (config_.trace ? std::string{" (traces are kept a day)"}
                                         : " (tracing is off on this node: set [node] trace = "
                                           "true)"));
  return stories;
}

} // namespace mailroom
