// Resolves entity names to actors. Today every entity lives on this node; a later cluster
// layer resolves a remote name to a proxy actor that forwards over the node link, and callers
// do not change.
//
// Thread-safe: the node writes it, actors and the client endpoint read it from any thread.
#pragma once

#include <caf/actor.hpp>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace mailroom {

enum class entity_kind { queue, dead_letter_sink, topic, router, alarm, saga };

class registry {
public:
  void put(entity_kind kind, const std::string& name, caf::actor handle);
  void erase(entity_kind kind, const std::string& name);
  std::optional<caf::actor> find(entity_kind kind, const std::string& name) const;
  std::vector<std::string> names(entity_kind kind) const;
  std::vector<caf::actor> all() const;

private:
  mutable std::mutex mutex_; // guards entries_
  std::map<std::pair<entity_kind, std::string>, caf::actor> entries_;
};

} // namespace mailroom
