// The node's TOML configuration.
//
//   [node]
//   data_dir = "./mailroom-data"
//   listen = "127.0.0.1:7411"
//   log_level = "info"
//   durable = true                  # false: no fsync (benchmarks only)
//
//   [queues.orders]
//   visibility_timeout = "30s"
//   delay = "0s"
//   retention = "4d"
//   max_message_size = 262144       # bytes
//   max_receive_count = 5
//   dead_letter = "orders-dlq"      # sink, created if missing
//   max_depth = 1000000             # messages held at most; sends past it are refused
//   retry = { base = "1s", factor = 2.0, cap = "5m" }
//
// Unknown keys are errors: a typo must not silently fall back to a default.
#pragma once

#include "mailroom/node.hpp"

#include <caf/expected.hpp>

#include <string>
#include <string_view>

namespace mailroom {

/// Parses TOML text; `source` names it in errors ("cluster.toml", "<embedded>").
caf::expected<node_config> parse_config(std::string_view text, std::string_view source);

/// Reads and parses a file.
caf::expected<node_config> load_config(const std::string& path);

} // namespace mailroom
