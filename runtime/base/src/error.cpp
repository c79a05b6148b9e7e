#include "mailroom/error.hpp"

#include <caf/atom.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

#include <array>

namespace mailroom {

namespace {

constexpr auto category = caf::atom("mailroom");

constexpr std::array<std::string_view, 14> names = {
    "",
    "unknown_queue",
    "already_exists",
    "invalid_argument",
    "message_too_large",
    "unknown_receipt",
    "receipt_expired",
    "io_error",
    "corruption",
    "unavailable",
    "queue_full",
    "disk_full",
    "not_found",
    "memory_full",
};

} // namespace

std::string_view to_string(errc code) {
  auto index = static_cast<size_t>(code);
  return index < names.size() ? names[index] : "unknown";
}

std::optional<errc> errc_from_string(std::string_view name) {
  for (size_t i = 1; i < names.size(); ++i)
    if (names[i] == name)
      return static_cast<errc>(i);
  return std::nullopt;
}

caf::error make_error(errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), category, caf::make_message(std::move(message))};
}

errc code_of(const caf::error& err) {
  if (!err) // no error: no code (CAF's category() of an empty error dereferences null)
    return errc{0};
  if (err.category() != category || err.code() == 0 || err.code() >= names.size())
    return errc::unavailable;
  return static_cast<errc>(err.code());
}

std::string message_of(const caf::error& err) {
  if (!err)
    return {};
  if (err.category() == category && err.context().match_elements<std::string>())
    return err.context().get_as<std::string>(0);
  return caf::to_string(err);
}

} // namespace mailroom
