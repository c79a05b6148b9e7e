#include "receive_attempts.hpp"

#include <algorithm>
#include <cctype>

namespace mailroom {

std::optional<refusal> receive_attempts::check_id(const std::string& id) {
  bool valid = !id.empty() && id.size() <= 128 &&
               std::all_of(id.begin(), id.end(),
                           [](unsigned char c) { return std::isalnum(c) || std::ispunct(c); });
  if (valid)
    return std::nullopt;
  return refusal{400, "InvalidParameterValue",
                 "Value " + id.substr(0, 128) +
                     " for parameter ReceiveRequestAttemptId is invalid: 1 to 128 letters, "
                     "digits or punctuation."};
}

const aws_reply* receive_attempts::find(const std::string& key, int64_t now_ms) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.expires_at_ms <= now_ms)
    return nullptr;
  return &it->second.reply;
}

void receive_attempts::forget(std::map<std::string, entry>::iterator it) {
  bytes_ -= it->second.reply.body.size();
  order_.erase(std::find(order_.begin(), order_.end(), it));
  entries_.erase(it);
}

void receive_attempts::remember(const std::string& key, aws_reply reply, int64_t now_ms) {
  if (reply.body.size() > budget_bytes)
    return;
  if (auto it = entries_.find(key); it != entries_.end()) // an expired one: replaced
    forget(it);
  // Entries expire in the order they came: the oldest go first, expired or over the budget.
  while (!order_.empty() && (bytes_ + reply.body.size() > budget_bytes ||
                             order_.front()->second.expires_at_ms <= now_ms))
    forget(order_.front());
  bytes_ += reply.body.size();
  auto [it, inserted] = entries_.emplace(key, entry{std::move(reply), now_ms + lifetime_ms});
  order_.push_back(it);
}

} // namespace mailroom
