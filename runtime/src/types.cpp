#include "mailroom/types.hpp"

namespace mailroom {

size_t envelope::payload_size() const {
  size_t n = body.size();
  for (const auto& [k, v] : attributes)
    n += k.size() + v.size();
  return n;
}

const std::string* envelope::attribute(std::string_view key) const {
  for (const auto& [k, v] : attributes)
    if (k == key)
      return &v;
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
    for (const auto& [k, v] : d.message.attributes)
      if (k == attribute_key && (attribute_value.empty() || v == attribute_value))
        found = true;
    if (!found)
      return false;
  }
  return true;
}

} // namespace mailroom
