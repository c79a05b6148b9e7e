// ReceiveRequestAttemptId (SQS FIFO queues): a ReceiveMessage retried with the same attempt id
// within five minutes answers what the first one did, so a reply lost on the way does not leave
// its messages leased to nobody (and their groups blocked) until the visibility timeout ends.
#pragma once

#include "aws_query.hpp"
#include "http_face.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

namespace mailroom {

class receive_attempts {
public:
  static constexpr int64_t lifetime_ms = 5 * 60 * 1000;
  /// Reply bytes kept at most: the oldest go first (ten 256 KiB messages are one 2.5 MiB reply).
  static constexpr size_t budget_bytes = 16 * 1024 * 1024;

  /// 1 to 128 of letters, digits and ASCII punctuation, as SQS takes one.
  static std::optional<refusal> check_id(const std::string& id);

  /// The reply remembered for `key` (queue and attempt id), if it has not expired.
  const aws_reply* find(const std::string& key, int64_t now_ms);
  void remember(const std::string& key, aws_reply reply, int64_t now_ms);

private:
  struct entry {
    aws_reply reply;
    int64_t expires_at_ms;
  };
  void forget(std::map<std::string, entry>::iterator it);

  std::map<std::string, entry> entries_;
  std::deque<std::map<std::string, entry>::iterator> order_; // oldest first
  size_t bytes_ = 0;
};

} // namespace mailroom
