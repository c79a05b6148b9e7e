#include "mailroom/logging.hpp"

#include "mailroom/error.hpp"

#include <spdlog/spdlog.h>

namespace mailroom {

caf::error set_log_level(std::string_view level) {
  auto parsed = spdlog::level::from_str(std::string{level});
  // from_str answers "off" for anything it does not know; only accept "off" when asked for.
  if (parsed == spdlog::level::off && level != "off")
    return make_error(errc::invalid_argument,
                      "log level '" + std::string{level} +
                          "' is not one of trace, debug, info, warn, error, critical, off");
  spdlog::set_level(parsed);
  return {};
}

} // namespace mailroom
