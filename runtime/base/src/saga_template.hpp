// Command bodies of saga steps: templates over the saga's data (a JSON object).
//
// `{{name}}` is replaced by the JSON text of field `name` (`{{a.b}}` reads a nested field), so a
// string keeps its quotes and a template stays valid JSON: `{"order":{{order_id}}}`.
// `{{saga_id}}` is the instance id, as a JSON string. Everything else is copied as is.
#pragma once

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json_fwd.hpp>

#include <string>

namespace mailroom::saga_template {

/// Checks that every `{{` is closed and names a field; the error says where.
caf::error check(const std::string& text);

/// Fills in the fields; a field the data lacks is an error naming it.
caf::expected<std::string> render(const std::string& text, const nlohmann::json& data,
                                  const std::string& saga_id);

} // namespace mailroom::saga_template
