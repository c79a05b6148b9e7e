// Reads a journal file the way an operator's sqlite3 shell would, beside the node that has it
// open (WAL readers do not block it): for tests that check what reached the disk.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <string>
#include <vector>

namespace mailroom::test {

/// Every row of `sql`'s first `column`, as text.
inline std::vector<std::string> journal_column(const std::string& path, const std::string& sql,
                                               int column = 0) {
  std::vector<std::string> out;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK) << path;
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK) << sql;
  while (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
    auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
    out.emplace_back(text ? text : "");
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return out;
}

/// The one integer `sql` answers (-1 if it answers no row).
inline int64_t journal_scalar(const std::string& path, const std::string& sql) {
  auto rows = journal_column(path, sql);
  return rows.empty() ? -1 : std::stoll(rows.front());
}

} // namespace mailroom::test
