// Logging set-up. Everything outside apps/ logs through spdlog.
#pragma once

#include <caf/expected.hpp>

#include <string_view>

namespace mailroom {

/// Sets the global spdlog level from "trace", "debug", "info", "warn", "error", "critical" or
/// "off"; anything else is an invalid_argument error naming the value.
caf::error set_log_level(std::string_view level);

} // namespace mailroom
