// The journal's side of transactional services: their own SQL statements, run in the node's
// database so that a service's state, its outgoing messages and its inbox entry commit in one
// transaction (see mailroom/transaction.hpp).
//
// Why a guard: the statements are the service author's, and the journal's own tables hold every
// queue. An authorizer compiled into each statement refuses writes to them, schema changes to
// them, transaction control (a COMMIT inside a group commit would break group atomicity),
// ATTACH and PRAGMA.
#include "journal.hpp"

#include "mailroom/error.hpp"

#include <sqlite3.h>

#include <array>
#include <cstring>

namespace mailroom {

namespace {

constexpr std::array<const char*, 9> journal_tables = {"catalog", "segments", "segment_events",
                                                       "dedup",   "consumed", "dead_letters",
                                                       "trace",   "sagas",    "publications"};

bool is_journal_table(const char* name) {
  if (name == nullptr)
    return false;
  for (auto t : journal_tables)
    if (sqlite3_stricmp(name, t) == 0)
      return true;
  return false;
}

/// Compiled service statements kept per connection; past this many distinct texts (a handler
/// that builds its SQL from data), the cache starts over.
constexpr size_t max_cached_statements = 256;

/// The authorizer, on while a service statement compiles or runs (`on` points at the cache's
/// `guarding`: a step may recompile after a schema change): arguments per action as in
/// sqlite3_set_authorizer's documentation.
int guard(void* on, int action, const char* a1, const char* a2, const char*, const char*) {
  if (!*static_cast<const bool*>(on))
    return SQLITE_OK; // the journal's own statements
  switch (action) {
  case SQLITE_INSERT:
  case SQLITE_UPDATE:
  case SQLITE_DELETE:
  case SQLITE_DROP_TABLE: // a1: the table
    return is_journal_table(a1) ? SQLITE_DENY : SQLITE_OK;
  case SQLITE_ALTER_TABLE: // a2: the table (a1: the database)
  case SQLITE_CREATE_INDEX:
  case SQLITE_DROP_INDEX:
  case SQLITE_CREATE_TRIGGER:
  case SQLITE_DROP_TRIGGER: // a2: the table (a1: the index or trigger)
    return is_journal_table(a2) ? SQLITE_DENY : SQLITE_OK;
  case SQLITE_TRANSACTION:
  case SQLITE_SAVEPOINT:
  case SQLITE_ATTACH:
  case SQLITE_DETACH:
  case SQLITE_PRAGMA:
    return SQLITE_DENY;
  default:
    return SQLITE_OK;
  }
}

void bind(sqlite3_stmt* stmt, const std::vector<sql_value>& params) {
  for (size_t i = 0; i < params.size(); ++i) {
    auto index = static_cast<int>(i + 1);
    const auto& v = params[i];
    if (auto n = std::get_if<int64_t>(&v))
      sqlite3_bind_int64(stmt, index, *n);
    else if (auto d = std::get_if<double>(&v))
      sqlite3_bind_double(stmt, index, *d);
    else if (auto s = std::get_if<std::string>(&v))
      sqlite3_bind_text(stmt, index, s->data(), static_cast<int>(s->size()), SQLITE_TRANSIENT);
    else
      sqlite3_bind_null(stmt, index);
  }
}

/// A failing service statement is the service's problem (invalid_argument), unless SQLite says
/// the disk or the database is at fault: then as any journal write (a full disk fails the
/// commit, anything else stops the journal).
caf::error statement_error(sqlite3* db, int rc, const std::string& sql) {
  auto primary = rc & 0xff;
  bool io = primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CORRUPT ||
            primary == SQLITE_NOMEM || primary == SQLITE_CANTOPEN || primary == SQLITE_NOTADB;
  return make_error(io ? journal_failure_code(rc) : errc::invalid_argument,
                    "statement '" + sql + "': " + sqlite3_errmsg(db));
}

} // namespace

void journal::install_guard(sqlite3* on, service_statements& cache) {
  sqlite3_set_authorizer(on, guard, &cache.guarding);
}

void journal::finalize_all(service_statements& cache) {
  for (auto& [text, stmt] : cache.by_text)
    sqlite3_finalize(stmt);
  cache.by_text.clear();
}

caf::expected<sqlite3_stmt*>
journal::prepare_service_statement(sqlite3* on, service_statements& cache, const std::string& sql) {
  sqlite3_stmt* stmt = nullptr;
  const char* tail = nullptr;
  cache.guarding = true;
  auto rc = sqlite3_prepare_v2(on, sql.c_str(), static_cast<int>(sql.size()), &stmt, &tail);
  cache.guarding = false;
  if (rc != SQLITE_OK) {
    auto err = statement_error(on, rc, sql);
    if (rc == SQLITE_AUTH)
      err = make_error(errc::invalid_argument,
                       "statement '" + sql +
                           "': a service may not write the journal's own tables, control "
                           "transactions, ATTACH or PRAGMA");
    sqlite3_finalize(stmt);
    return err;
  }
  if (stmt == nullptr)
    return make_error(errc::invalid_argument, "statement '" + sql + "' is empty");
  if (tail != nullptr && std::strspn(tail, " \t\r\n;") != std::strlen(tail)) {
    sqlite3_finalize(stmt);
    return make_error(errc::invalid_argument,
                      "statement '" + sql + "' holds more than one statement");
  }
  return stmt;
}

caf::expected<sqlite3_stmt*> journal::service_statement(sqlite3* on, service_statements& cache,
                                                        const std::string& sql) {
  if (auto it = cache.by_text.find(sql); it != cache.by_text.end())
    return it->second;
  auto stmt = prepare_service_statement(on, cache, sql);
  if (!stmt)
    return stmt;
  if (cache.by_text.size() >= max_cached_statements)
    finalize_all(cache);
  cache.by_text.emplace(sql, *stmt);
  return stmt;
}

namespace {

/// Steps a cached statement with `params`, each row to `row`; resets it and lowers the guard
/// however it ends (`row` may throw: out of memory).
template <class Row>
int step_all(sqlite3_stmt* stmt, const std::vector<sql_value>& params, bool& guarding, Row row) {
  struct finally {
    sqlite3_stmt* stmt;
    bool& guarding;
    ~finally() {
      guarding = false;
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
    }
  } done{stmt, guarding};
  bind(stmt, params);
  guarding = true;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
    row(stmt);
  return rc;
}

} // namespace

caf::error journal::run_service_statement(const std::string& sql,
                                          const std::vector<sql_value>& params) {
  auto stmt = service_statement(db_, writer_statements_, sql);
  if (!stmt)
    return std::move(stmt.error());
  auto rc = step_all(*stmt, params, writer_statements_.guarding, [](sqlite3_stmt*) {});
  return rc == SQLITE_DONE ? caf::error{} : statement_error(db_, rc, sql);
}

caf::error journal::check_statement(const std::string& sql) {
  // A text checked once passes again without a compile: the check stays off the writer's lock
  // for every message of a handler that runs the same statements.
  {
    std::lock_guard<std::mutex> guard{checked_mutex_};
    if (checked_.count(sql) > 0)
      return {};
  }
  std::lock_guard<std::recursive_mutex> guard{db_mutex_};
  auto stmt = service_statement(db_, writer_statements_, sql);
  if (!stmt)
    return std::move(stmt.error());
  std::lock_guard<std::mutex> checked{checked_mutex_};
  if (checked_.size() >= max_cached_statements)
    checked_.clear();
  checked_.insert(sql);
  return {};
}

caf::expected<std::vector<sql_row>> journal::query(const std::string& sql,
                                                   const std::vector<sql_value>& params) {
  // On the read connection: a handler's query never waits for (or holds up) a group commit.
  std::lock_guard<std::recursive_mutex> guard{reader_mutex_};
  auto stmt = service_statement(reader_, reader_statements_, sql);
  if (!stmt)
    return std::move(stmt.error());
  if (!sqlite3_stmt_readonly(*stmt))
    return make_error(errc::invalid_argument,
                      "statement '" + sql + "' writes; use execute() inside the transaction");
  std::vector<sql_row> rows;
  auto rc = step_all(*stmt, params, reader_statements_.guarding, [&rows](sqlite3_stmt* s) {
    sql_row row;
    for (int i = 0, n = sqlite3_column_count(s); i < n; ++i) {
      switch (sqlite3_column_type(s, i)) {
      case SQLITE_INTEGER:
        row.emplace_back(static_cast<int64_t>(sqlite3_column_int64(s, i)));
        break;
      case SQLITE_FLOAT:
        row.emplace_back(sqlite3_column_double(s, i));
        break;
      case SQLITE_NULL:
        row.emplace_back(std::monostate{});
        break;
      default:
        row.emplace_back(std::string{reinterpret_cast<const char*>(sqlite3_column_text(s, i)),
                                     static_cast<size_t>(sqlite3_column_bytes(s, i))});
      }
    }
    rows.push_back(std::move(row));
  });
  if (rc != SQLITE_DONE)
    return statement_error(reader_, rc, sql);
  return rows;
}

caf::expected<bool> journal::consumed(const std::string& service, const std::string& id) {
  std::lock_guard<std::recursive_mutex> guard{reader_mutex_};
  sqlite3_bind_text(statement(sql::read_consumed), 1, service.data(),
                    static_cast<int>(service.size()), SQLITE_STATIC);
  sqlite3_bind_text(statement(sql::read_consumed), 2, id.data(), static_cast<int>(id.size()),
                    SQLITE_STATIC);
  auto rc = sqlite3_step(statement(sql::read_consumed));
  sqlite3_reset(statement(sql::read_consumed));
  sqlite3_clear_bindings(statement(sql::read_consumed));
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return make_error(errc::io_error,
                      std::string{"journal: inbox read: "} + sqlite3_errmsg(reader_));
  return rc == SQLITE_ROW;
}

} // namespace mailroom
