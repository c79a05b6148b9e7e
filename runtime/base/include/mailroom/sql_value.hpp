// Values of the node's SQL tables as the journal, transactional services and node::query see them.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace mailroom {

/// A value bound to or read from a service's SQL statements: NULL, integer, real or text.
using sql_value = std::variant<std::monostate, int64_t, double, std::string>;
using sql_row = std::vector<sql_value>;

} // namespace mailroom
