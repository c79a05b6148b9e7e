#include "entity_catalog.hpp"

namespace mailroom {

entity_catalog::claim::~claim() {
  if (catalog_ != nullptr)
    catalog_->release(key_);
}

entity_catalog::claim entity_catalog::acquire(entity_kind kind, const std::string& name) {
  std::pair<entity_kind, std::string> key{kind, name};
  std::unique_lock<std::mutex> guard{mutex_};
  released_.wait(guard, [&] { return !claims_.count(key); });
  claims_.insert(key);
  return claim{this, std::move(key)};
}

void entity_catalog::release(const std::pair<entity_kind, std::string>& key) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    claims_.erase(key);
  }
  released_.notify_all();
}

} // namespace mailroom
