// The journal's reads of saga instances, on the read connection: recovery (unfinished ones) and
// `mailroom saga ls|show`.
// Writes go through write_batch::put_saga like every other journal write.
#include "journal.hpp"

#include "mailroom/error.hpp"

#include <sqlite3.h>

namespace mailroom {

caf::error journal::read_sagas(const std::string& definition, const std::vector<uint8_t>& statuses,
                               uint32_t max, const row_visitor& visit) {
  std::string sql = "SELECT id, status, instance FROM sagas WHERE 1";
  if (!definition.empty())
    sql += " AND definition = ?1";
  if (!statuses.empty()) {
    sql += " AND status IN (";
    for (size_t i = 0; i < statuses.size(); ++i)
      sql += (i ? "," : "") + std::to_string(statuses[i]); // small integers: no injection
    sql += ")";
  }
  sql += " ORDER BY seq DESC LIMIT " + std::to_string(max);
  std::lock_guard<std::recursive_mutex> guard{reader_mutex_};
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(reader_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK)
    return reader_error("reading sagas");
  if (!definition.empty())
    sqlite3_bind_text(stmt, 1, definition.data(), static_cast<int>(definition.size()),
                      SQLITE_STATIC);
  caf::error result;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::string id{reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)),
                   static_cast<size_t>(sqlite3_column_bytes(stmt, 0))};
    auto status = static_cast<uint64_t>(sqlite3_column_int64(stmt, 1));
    auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, 2));
    std::string blob{data ? data : "", static_cast<size_t>(sqlite3_column_bytes(stmt, 2))};
    if ((result = visit(id, status, blob)))
      break;
  }
  if (!result && rc != SQLITE_ROW && rc != SQLITE_DONE)
    result = reader_error("reading sagas");
  sqlite3_finalize(stmt);
  return result;
}

caf::expected<uint64_t> journal::max_saga_seq() {
  std::lock_guard<std::recursive_mutex> guard{db_mutex_};
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT coalesce(max(seq), 0) FROM sagas", -1, &stmt, nullptr) !=
      SQLITE_OK)
    return sqlite_error("reading the saga sequence");
  caf::expected<uint64_t> result = sqlite_error("reading the saga sequence");
  if (sqlite3_step(stmt) == SQLITE_ROW)
    result = static_cast<uint64_t>(sqlite3_column_int64(stmt, 0));
  sqlite3_finalize(stmt);
  return result;
}

caf::expected<std::string> journal::read_saga(const std::string& id) {
  std::lock_guard<std::recursive_mutex> guard{reader_mutex_};
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(reader_, "SELECT instance FROM sagas WHERE id = ?1", -1, &stmt, nullptr) !=
      SQLITE_OK)
    return reader_error("reading a saga");
  sqlite3_bind_text(stmt, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
  auto rc = sqlite3_step(stmt);
  caf::expected<std::string> result = make_error(errc::not_found, "no saga '" + id + "'");
  if (rc == SQLITE_ROW) {
    auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, 0));
    result = std::string{data ? data : "", static_cast<size_t>(sqlite3_column_bytes(stmt, 0))};
  } else if (rc != SQLITE_DONE) {
    result = reader_error("reading a saga");
  }
  sqlite3_finalize(stmt);
  return result;
}

} // namespace mailroom
