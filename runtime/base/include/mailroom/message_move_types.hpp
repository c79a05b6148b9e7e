// Message move tasks (SQS StartMessageMoveTask): the messages a dead-letter queue holds when a
// task starts go back to the queues they died in, or all to one destination, with their ids.
#pragma once

#include <caf/allowed_unsafe_message_type.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace mailroom {

struct message_move_request {
  std::string source;      ///< the dead-letter queue
  std::string destination; ///< empty: each message's source queue (its last death record's)
  uint32_t rate_per_s = 0; ///< 0: as fast as the queues take them
};

struct message_move_status {
  std::string handle;
  message_move_request request;
  std::string status; ///< RUNNING | COMPLETED | CANCELLING | CANCELLED | FAILED (SQS's words)
  uint64_t moved = 0;
  uint64_t to_move = 0; ///< what the source held visible when the task started
  std::string failure;  ///< why a FAILED task stopped
  int64_t started_at_ms = 0;
};

} // namespace mailroom

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::message_move_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(mailroom::message_move_status)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<mailroom::message_move_status>)
