// Helpers of the TOML configuration reader shared by its source files (config.cpp reads the
// node, queues, topics, routers and alarms; config_sagas.cpp the saga definitions). Every error
// names the file (`source`) and the table and key at fault.
#pragma once

#include "mailroom/error.hpp"
#include "mailroom/saga_types.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <toml++/toml.h>

#include <limits>
#include <set>
#include <string>
#include <string_view>

namespace mailroom::config_detail {

caf::error fail(std::string_view source, const std::string& what);
/// "FILE:LINE: what", with the line of the value (or table) at fault.
caf::error fail(std::string_view source, const toml::node& at, const std::string& what);
/// A number as TOML would write it ("nan", "inf", "0.5").
std::string number_text(double value);
caf::error check_keys(std::string_view source, const toml::table& table, const std::string& where,
                      const std::set<std::string>& allowed);
/// Reads an optional duration string ("30s") into `out`.
caf::error read_duration(std::string_view source, const toml::table& table, const char* key,
                         const std::string& what, int64_t& out);
caf::error read_string(std::string_view source, const toml::table& table, const char* key,
                       const std::string& what, std::string& out);

template <class T>
caf::error read_integer(std::string_view source, const toml::table& table, const char* key,
                        const std::string& what, T& out) {
  auto node = table.get(key);
  if (node == nullptr)
    return {};
  auto value = node->value<int64_t>();
  if (!value || *value < 0)
    return fail(source, *node, what + " must be a non-negative integer");
  if (static_cast<uint64_t>(*value) > std::numeric_limits<T>::max())
    return fail(source, *node,
                what + " " + std::to_string(*value) + " is larger than the largest allowed, " +
                    std::to_string(std::numeric_limits<T>::max()));
  out = static_cast<T>(*value);
  return {};
}

/// [sagas.NAME] with its [[sagas.NAME.steps]].
caf::expected<saga_definition> read_saga(std::string_view source, const std::string& name,
                                         const toml::table& table);

} // namespace mailroom::config_detail
