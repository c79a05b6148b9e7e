// Saga definitions in the TOML configuration:
//
//   [sagas.order]
//   version = 1                     # optional, default 1; bump it to change a stored definition
//   alarm_topic = "alerts"          # optional: parked sagas alert there
//
//   [[sagas.order.steps]]
//   name = "CreateOrder"
//   queue = "orders"
//   command = '{"type":"CreateOrder","customer":{{customer}}}'
//   compensation = '{"type":"CancelOrder","order":{{order_id}}}'   # optional
//   compensation_queue = "orders"   # optional, default: queue
//   timeout = "30s"
//   retry = { max_attempts = 3, base = "1s", factor = 2.0, cap = "1m" }
//   compensation_retry = { max_attempts = 5, base = "1s", factor = 2.0, cap = "1m" }
#include "config_detail.hpp"

#include <cmath>

namespace mailroom::config_detail {

namespace {

caf::error read_retry(std::string_view source, const toml::table& t, const char* key,
                      const std::string& where, saga_retry& out) {
  auto node = t.get(key);
  if (node == nullptr)
    return {};
  auto what = where + ": " + key;
  auto table = node->as_table();
  if (table == nullptr)
    return fail(source, what + " must be a table { max_attempts, base, factor, cap }");
  if (auto err = check_keys(source, *table, what, {"max_attempts", "base", "factor", "cap"}))
    return err;
  if (auto err =
          read_integer(source, *table, "max_attempts", what + ".max_attempts", out.max_attempts))
    return err;
  if (auto err = read_duration(source, *table, "base", what + ".base", out.base_ms))
    return err;
  if (auto err = read_duration(source, *table, "cap", what + ".cap", out.cap_ms))
    return err;
  if (auto f = table->get("factor")) {
    auto value = f->value<double>();
    if (!value)
      return fail(source, *f, what + ".factor must be a number");
    if (!std::isfinite(*value) || *value < 1.0)
      return fail(source, *f,
                  what + ".factor " + number_text(*value) + " is not a finite number >= 1");
    out.factor = *value;
  }
  return {};
}

caf::expected<saga_step> read_step(std::string_view source, const std::string& saga, size_t index,
                                   const toml::table& t) {
  saga_step step;
  auto where = "saga '" + saga + "' step " + std::to_string(index + 1);
  if (auto err = check_keys(source, t, where,
                            {"name", "queue", "command", "compensation", "compensation_queue",
                             "timeout", "retry", "compensation_retry"}))
    return err;
  for (const char* required : {"name", "queue", "command"})
    if (!t.get(required))
      return fail(source, where + ": " + required + " is required");
  if (auto err = read_string(source, t, "name", where + ": name", step.name))
    return err;
  where = "saga '" + saga + "' step '" + step.name + "'";
  if (auto err = read_string(source, t, "queue", where + ": queue", step.queue))
    return err;
  if (auto err = read_string(source, t, "command", where + ": command", step.command))
    return err;
  if (auto err =
          read_string(source, t, "compensation", where + ": compensation", step.compensation))
    return err;
  if (auto err = read_string(source, t, "compensation_queue", where + ": compensation_queue",
                             step.compensation_queue))
    return err;
  if (auto err = read_duration(source, t, "timeout", where + ": timeout", step.timeout_ms))
    return err;
  if (auto err = read_retry(source, t, "retry", where, step.retry))
    return err;
  if (auto err = read_retry(source, t, "compensation_retry", where, step.compensation_retry))
    return err;
  return step;
}

} // namespace

caf::expected<saga_definition> read_saga(std::string_view source, const std::string& name,
                                         const toml::table& t) {
  saga_definition d;
  d.name = name;
  auto where = "saga '" + name + "'";
  if (auto err = check_keys(source, t, where, {"version", "alarm_topic", "steps"}))
    return err;
  if (auto err = read_integer(source, t, "version", where + ": version", d.version))
    return err;
  if (auto err = read_string(source, t, "alarm_topic", where + ": alarm_topic", d.alarm_topic))
    return err;
  auto steps = t.get("steps");
  auto list = steps ? steps->as_array() : nullptr;
  if (list == nullptr)
    return fail(source, where + ": needs its steps as [[sagas." + name + ".steps]] tables");
  for (size_t i = 0; i < list->size(); ++i) {
    auto st = list->get(i)->as_table();
    if (st == nullptr)
      return fail(source, where + ": step " + std::to_string(i + 1) + " must be a table");
    auto step = read_step(source, name, i, *st);
    if (!step)
      return std::move(step.error());
    d.steps.push_back(std::move(*step));
  }
  if (auto err = validate(d))
    return fail(source, message_of(err));
  return d;
}

} // namespace mailroom::config_detail
