#include "mailroom/registry.hpp"

namespace mailroom {

void registry::put(entity_kind kind, const std::string& name, caf::actor handle) {
  std::lock_guard<std::mutex> guard{mutex_};
  entries_[{kind, name}] = std::move(handle);
}

void registry::erase(entity_kind kind, const std::string& name) {
  std::lock_guard<std::mutex> guard{mutex_};
  entries_.erase({kind, name});
}

std::optional<caf::actor> registry::find(entity_kind kind, const std::string& name) const {
  std::lock_guard<std::mutex> guard{mutex_};
  auto it = entries_.find({kind, name});
  if (it == entries_.end())
    return std::nullopt;
  return it->second;
}

std::vector<std::string> registry::names(entity_kind kind) const {
  std::lock_guard<std::mutex> guard{mutex_};
  std::vector<std::string> out;
  for (const auto& [key, handle] : entries_)
    if (key.first == kind)
      out.push_back(key.second);
  return out;
}

std::vector<caf::actor> registry::all() const {
  std::lock_guard<std::mutex> guard{mutex_};
  std::vector<caf::actor> out;
  for (const auto& [key, handle] : entries_)
    out.push_back(handle);
  return out;
}

} // namespace mailroom
