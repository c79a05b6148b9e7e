// Recovering one kind of entity from its catalog rows at open: each row decoded and handed to
// `adopt`, which makes the entity's state, records its configuration and spawns its actor. A row
// that does not decode, or that the kind refuses, is corruption naming the entity: the journal
// holds only configurations that were accepted.
#pragma once

#include "journal.hpp"
#include "mailroom/error.hpp"

#include <caf/expected.hpp>

#include <string>

namespace mailroom {

/// The number of entities recovered, or the first row that failed.
template <class Decode, class Adopt>
caf::expected<size_t> recover_rows(journal& log, const char* row_kind, const char* what,
                                   Decode decode, Adopt adopt) {
  size_t recovered = 0;
  auto err = log.read_catalog(
      row_kind, [&](const std::string& name, uint64_t, const std::string& blob) -> caf::error {
        auto config = decode(blob);
        if (!config)
          return make_error(errc::corruption,
                            std::string{what} + " '" + name + "': " + message_of(config.error()));
        if (auto refused = adopt(name, std::move(*config)))
          return make_error(errc::corruption, message_of(refused));
        ++recovered;
        return {};
      });
  if (err)
    return err;
  return recovered;
}

} // namespace mailroom
