#include "journal.hpp"

#include "mailroom/error.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <variant>
#include <cerrno>
#include <cstring>
#include <future>

namespace mailroom {

// --- write_batch -----------------------------------------------------------------------------

void write_batch::put_catalog(std::string kind, std::string name, std::string blob) {
  ops_.emplace_back(put_catalog_op{std::move(kind), std::move(name), std::move(blob)});
}

void write_batch::delete_catalog(std::string kind, std::string name) {
  ops_.emplace_back(delete_catalog_op{std::move(kind), std::move(name)});
}

void write_batch::put_segment(std::string queue, uint64_t first_seq, uint32_t count,
                              int64_t enqueued_at_ms, std::string blob) {
  put_segment(std::move(queue), first_seq, count, enqueued_at_ms, 0, std::move(blob));
}

void write_batch::put_segment(std::string queue, uint64_t first_seq, uint32_t count,
                              int64_t enqueued_at_ms, uint64_t publication, std::string blob) {
  ops_.emplace_back(put_segment_op{std::move(queue), first_seq, count, enqueued_at_ms,
                                   std::move(blob), publication});
}

void write_batch::put_publication(uint64_t id, std::string blob) {
  ops_.emplace_back(put_publication_op{id, std::move(blob)});
}

void write_batch::delete_unused_publication(uint64_t id) {
  ops_.emplace_back(delete_unused_publication_op{id});
}

void write_batch::append_events(std::string queue, uint64_t first_seq, std::string blob) {
  ops_.emplace_back(append_events_op{std::move(queue), first_seq, std::move(blob)});
}

void write_batch::delete_segment(std::string queue, uint64_t first_seq) {
  ops_.emplace_back(delete_segment_op{std::move(queue), first_seq});
}

void write_batch::delete_queue_data(std::string queue) {
  ops_.emplace_back(delete_queue_data_op{std::move(queue)});
}

void write_batch::delete_orphaned_queue_data(std::string queue_kind) {
  ops_.emplace_back(delete_orphaned_queue_data_op{std::move(queue_kind)});
}

void write_batch::put_dedup(std::string queue, uint64_t first_seq, std::string blob) {
  ops_.emplace_back(put_dedup_op{std::move(queue), first_seq, std::move(blob)});
}

void write_batch::delete_dedup_before(std::string queue, uint64_t first_seq) {
  ops_.emplace_back(delete_dedup_before_op{std::move(queue), first_seq});
}

void write_batch::barrier() {
  ops_.emplace_back(barrier_op{});
}

void write_batch::append_trace(int64_t at_ms, std::string blob) {
  ops_.emplace_back(append_trace_op{at_ms, std::move(blob)});
}

void write_batch::delete_trace_before(int64_t at_ms) {
  ops_.emplace_back(delete_trace_before_op{at_ms});
}

void write_batch::put_saga(saga_put how, uint64_t seq, std::string id, std::string definition,
                           uint8_t status, int64_t updated_at_ms, std::string blob) {
  ops_.emplace_back(put_saga_op{how, seq, std::move(id), std::move(definition), status,
                                updated_at_ms, std::move(blob)});
}

void write_batch::delete_finished_sagas_before(int64_t at_ms) {
  ops_.emplace_back(delete_finished_sagas_before_op{at_ms});
}

void write_batch::put_consumed(std::string service, std::string id, int64_t at_ms) {
  ops_.emplace_back(put_consumed_op{std::move(service), std::move(id), at_ms});
}

void write_batch::delete_consumed_before(std::string service, int64_t at_ms) {
  ops_.emplace_back(delete_consumed_before_op{std::move(service), at_ms});
}

void write_batch::execute(std::string sql, std::vector<sql_value> params) {
  ops_.emplace_back(execute_op{std::move(sql), std::move(params)});
  isolated_ = true;
}

void write_batch::put_dead_letter(std::string sink, std::string id, std::string blob) {
  ops_.emplace_back(put_dead_letter_op{std::move(sink), std::move(id), std::move(blob)});
}

void write_batch::delete_dead_letter(std::string sink, std::string id) {
  ops_.emplace_back(delete_dead_letter_op{std::move(sink), std::move(id)});
}

void write_batch::delete_sink_data(std::string sink) {
  ops_.emplace_back(delete_sink_data_op{std::move(sink)});
}

bool write_batch::adds_messages() const {
  return std::any_of(ops_.begin(), ops_.end(), [](const op& o) {
    auto* saga = std::get_if<put_saga_op>(&o);
    return std::holds_alternative<put_segment_op>(o) || (saga && saga->how == saga_put::insert);
  });
}

void write_batch::append(write_batch&& other) {
  isolated_ = isolated_ || other.isolated_;
  if (ops_.empty()) {
    ops_ = std::move(other.ops_);
    return;
  }
  ops_.insert(ops_.end(), std::make_move_iterator(other.ops_.begin()),
              std::make_move_iterator(other.ops_.end()));
}

// --- journal ---------------------------------------------------------------------------------

errc journal_failure_code(int sqlite_rc) {
  return (sqlite_rc & 0xff) == SQLITE_FULL ? errc::disk_full : errc::io_error;
}

namespace {

constexpr const char* schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS catalog(
  kind TEXT NOT NULL, name TEXT NOT NULL, config BLOB NOT NULL,
  PRIMARY KEY(kind, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS segments(
  id INTEGER PRIMARY KEY, queue TEXT NOT NULL, first_seq INTEGER NOT NULL, count INTEGER,
  enqueued_at_ms INTEGER, publication INTEGER, messages BLOB NOT NULL, UNIQUE(queue, first_seq));
CREATE TABLE IF NOT EXISTS publications(
  id INTEGER PRIMARY KEY, refs INTEGER NOT NULL DEFAULT 0, messages BLOB NOT NULL);
CREATE TRIGGER IF NOT EXISTS segment_takes_publication AFTER INSERT ON segments
  WHEN new.publication IS NOT NULL BEGIN
  UPDATE publications SET refs = refs + 1 WHERE id = new.publication;
END;
CREATE TRIGGER IF NOT EXISTS segment_drops_publication AFTER DELETE ON segments
  WHEN old.publication IS NOT NULL BEGIN
  UPDATE publications SET refs = refs - 1 WHERE id = old.publication;
  DELETE FROM publications WHERE id = old.publication AND refs <= 0;
END;
CREATE TABLE IF NOT EXISTS segment_events(
  id INTEGER PRIMARY KEY, queue TEXT NOT NULL, first_seq INTEGER NOT NULL, events BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS segment_events_by_segment ON segment_events(queue, first_seq);
CREATE TABLE IF NOT EXISTS dedup(
  queue TEXT NOT NULL, first_seq INTEGER NOT NULL, records BLOB NOT NULL,
  PRIMARY KEY(queue, first_seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS trace(
  id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, events BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS trace_by_time ON trace(at_ms);
CREATE TABLE IF NOT EXISTS consumed(
  service TEXT NOT NULL, id TEXT NOT NULL, at_ms INTEGER NOT NULL,
  PRIMARY KEY(service, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS consumed_by_time ON consumed(service, at_ms);
CREATE TABLE IF NOT EXISTS sagas(
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, definition TEXT NOT NULL,
  status INTEGER NOT NULL, updated_at_ms INTEGER NOT NULL, instance BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS sagas_by_status ON sagas(status);
CREATE TABLE IF NOT EXISTS dead_letters(
  arrival INTEGER PRIMARY KEY, sink TEXT NOT NULL, id TEXT NOT NULL, record BLOB NOT NULL,
  UNIQUE(sink, id));
)sql";

/// The journal format this build writes and reads (docs/journal-format.md).
constexpr int format_version = 4;

/// Format 1 → 2: segments gain their message count and enqueue time, ahead of the blob in new
/// journals (so recovery reads an index without the bodies' overflow pages), after it in
/// migrated ones. Rows of format 1 keep NULL there and are read whole (read_segment_index).
constexpr const char* migrate_from_1_sql = R"sql(
ALTER TABLE segments ADD COLUMN count INTEGER;
ALTER TABLE segments ADD COLUMN enqueued_at_ms INTEGER;
)sql";

/// Format 2 → 3: segments become a rowid table with an index on (queue, first_seq). As a
/// WITHOUT ROWID table its rows, whole send batches, lived in the index b-tree, and each search
/// step that met one copied all its overflow pages to compare keys (a third of the writer's
/// time under a transactional service). Rows keep their columns; the index columns move ahead
/// of the blob.
constexpr const char* migrate_from_2_sql = R"sql(
CREATE TABLE segments_v3(
  id INTEGER PRIMARY KEY, queue TEXT NOT NULL, first_seq INTEGER NOT NULL, count INTEGER,
  enqueued_at_ms INTEGER, messages BLOB NOT NULL, UNIQUE(queue, first_seq));
INSERT INTO segments_v3(queue, first_seq, count, enqueued_at_ms, messages)
  SELECT queue, first_seq, count, enqueued_at_ms, messages FROM segments ORDER BY queue, first_seq;
DROP TABLE segments;
ALTER TABLE segments_v3 RENAME TO segments;
)sql";

/// Format 3 → 4: a topic's publish stores what its copies share once, in `publications`, and
/// each subscriber's segment names it. Old rows have none. In a migrated journal the column
/// comes after the blob in every row, old and new (adding it is instant; moving it would
/// rewrite every segment): the delete trigger reads it at the end of the blob's overflow chain,
/// which freeing the row's overflow pages walks anyway.
constexpr const char* migrate_from_3_sql = R"sql(
ALTER TABLE segments ADD COLUMN publication INTEGER;
)sql";

void bind_text(sqlite3_stmt* stmt, int index, const std::string& text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

void bind_blob(sqlite3_stmt* stmt, int index, const std::string& blob) {
  sqlite3_bind_blob(stmt, index, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
}

} // namespace

journal::journal(journal_options options) : options_(std::move(options)) {
  if (!options_.io)
    options_.io = std::make_shared<journal_io>();
  auto slash = options_.path.rfind('/');
  directory_ = slash == std::string::npos ? "." : options_.path.substr(0, slash + 1);
}

caf::expected<std::unique_ptr<journal>> journal::open(journal_options options) {
  std::unique_ptr<journal> result{new journal(std::move(options))};
  if (auto err = result->open_database())
    return err;
  result->sync_thread_ = std::thread([j = result.get()] { j->sync_loop(); });
  result->thread_ = std::thread([j = result.get()] { j->run(); });
  return result;
}

journal::~journal() {
  {
    std::lock_guard<std::mutex> guard{queue_mutex_};
    stopping_ = true;
  }
  wakeup_.notify_all();
  if (thread_.joinable())
    thread_.join();
  // Everything is committed now; the sync thread confirms the rest before it ends.
  {
    std::lock_guard<std::mutex> guard{sync_mutex_};
    sync_stopping_ = true;
  }
  sync_wakeup_.notify_all();
  if (sync_thread_.joinable())
    sync_thread_.join();
  if (wal_fd_ >= 0)
    ::close(wal_fd_);
  for (auto* stmt : statements_)
    sqlite3_finalize(stmt);
  finalize_all(writer_statements_);
  finalize_all(reader_statements_);
  if (reader_ != nullptr)
    sqlite3_close(reader_); // before the writer, whose close checkpoints the WAL away
  if (db_ != nullptr)
    sqlite3_close(db_);
}

caf::error journal::sqlite_error(const char* what) const {
  // A full disk is the one failure that leaves the database as it was (see journal.hpp).
  auto code = db_ ? journal_failure_code(sqlite3_errcode(db_)) : errc::io_error;
  return make_error(code, std::string{"journal '"} + options_.path + "': " + what + ": " +
                              (db_ ? sqlite3_errmsg(db_) : "cannot open"));
}

caf::error journal::reader_error(const char* what) const {
  return make_error(errc::io_error, std::string{"journal '"} + options_.path + "': " + what + ": " +
                                        (reader_ ? sqlite3_errmsg(reader_) : "cannot open"));
}

caf::error journal::exec(const char* sql) {
  char* message = nullptr;
  if (int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message); rc != SQLITE_OK) {
    std::string text = message ? message : "unknown error";
    sqlite3_free(message);
    return make_error(journal_failure_code(rc), "journal '" + options_.path + "': " + text);
  }
  return {};
}

caf::error journal::open_database() {
  if (sqlite3_open_v2(options_.path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      options_.io->vfs()) != SQLITE_OK)
    return sqlite_error("open");
  // WAL: a commit is one sequential append. NORMAL leaves its fsync to the sync thread (see
  // journal.hpp) and keeps the syncs around checkpoints that make resetting the WAL safe.
  if (auto err = exec("PRAGMA journal_mode=WAL"))
    return err;
  if (auto err =
          exec(options_.synchronous ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=OFF"))
    return err;
  // Deleted rows are not overwritten with zeros (Debian builds SQLite with secure_delete on):
  // acked segments are deleted all the time, and zeroing their pages made the WAL write about a
  // sixth more.
  if (auto err = exec("PRAGMA secure_delete=OFF"))
    return err;
  // Checkpoint less often than the default 1000 pages: segments are large and short-lived, so
  // many are deleted before a checkpoint ever copies them into the main file.
  if (auto err = exec("PRAGMA wal_autocheckpoint=8192"))
    return err;
  // A page cache large enough for the live segments' b-tree pages: with the default 2 MiB,
  // every insert re-reads pages from the WAL with pread(). 32 MiB measured as fast as 64 MiB
  // (embedded queue, remote queue) and keeps a node with 1 M queued messages under 128 MiB.
  if (auto err = exec("PRAGMA cache_size=-32768"))
    return err;
  // No memory map on the writer: its reads go through the bounded page cache above. Mapped,
  // recovery touched every page of the file and a node with 1 M queued messages counted the
  // whole database (230 MiB) in its RSS. The reader, which reads bodies back, likewise.
  if (auto err = exec("PRAGMA mmap_size=0"))
    return err;
  auto found = check_format_version();
  if (!found)
    return found.error();
  if (auto err = exec("BEGIN IMMEDIATE"))
    return err;
  auto migrated = *found == 1 ? exec(migrate_from_1_sql) : caf::error{};
  if (!migrated && (*found == 1 || *found == 2))
    migrated = exec(migrate_from_2_sql);
  if (!migrated && *found >= 1 && *found <= 3)
    migrated = exec(migrate_from_3_sql);
  if (!migrated)
    migrated = exec(schema_sql);
  if (!migrated)
    migrated = exec(("PRAGMA user_version = " + std::to_string(format_version)).c_str());
  if (migrated) {
    (void)exec("ROLLBACK");
    return migrated;
  }
  if (auto err = exec("COMMIT"))
    return err;
  {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT coalesce(max(id), 0) FROM publications", -1, &stmt,
                           nullptr) != SQLITE_OK)
      return sqlite_error("reading the last publication id");
    if (sqlite3_step(stmt) == SQLITE_ROW)
      last_publication_id_ = static_cast<uint64_t>(sqlite3_column_int64(stmt, 0));
    sqlite3_finalize(stmt);
  }
  if (*found > 0 && *found < format_version)
    spdlog::info("journal '{}': migrated from format {} to {}", options_.path, *found,
                 format_version);
  if (options_.synchronous) {
    // The schema's writes created the WAL (an empty one made here would be the same file to
    // SQLite). The connection keeps that file until it closes: it rewinds it after a checkpoint,
    // never replaces it, so this descriptor stays valid.
    auto wal = options_.path + "-wal";
    wal_fd_ = ::open(wal.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (wal_fd_ < 0)
      return make_error(errc::io_error, "journal '" + options_.path + "': opening " + wal +
                                            " to sync it: " + std::strerror(errno));
  }
  free_below_watermark(); // says so in the log at once when the node opens on a full disk
  return prepare_statements();
}

caf::expected<int> journal::check_format_version() {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &stmt, nullptr) != SQLITE_OK)
    return sqlite_error("reading the format version");
  int version = sqlite3_step(stmt) == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  // 0: a new database. A newer format would be rewritten as if it were ours: refuse it.
  if (version > format_version)
    return make_error(errc::corruption,
                      "journal '" + options_.path + "' has format version " +
                          std::to_string(version) + "; this build reads versions up to " +
                          std::to_string(format_version) +
                          " (docs/journal-format.md): run a newer mailroomd on it");
  return version;
}

caf::error journal::prepare_statements() {
  struct entry {
    sql id;
    const char* text;
    bool on_reader = false; ///< prepared on the read connection
  };
  const entry entries[] = {
      {sql::read_trace, "SELECT ?1, at_ms, events FROM trace ORDER BY id", true},
      {sql::read_consumed, "SELECT 1 FROM consumed WHERE service = ?1 AND id = ?2", true},
      {sql::put_catalog, "INSERT OR REPLACE INTO catalog(kind, name, config) VALUES(?1, ?2, ?3)"},
      {sql::savepoint, "SAVEPOINT isolated"},
      {sql::release_savepoint, "RELEASE isolated"},
      {sql::rollback_to_savepoint, "ROLLBACK TO isolated"},
      {sql::delete_catalog, "DELETE FROM catalog WHERE kind = ?1 AND name = ?2"},
      // A plain INSERT: a queue never reuses a sequence number while its rows exist (a queue
      // made again first deletes what its name left), and a replaced row would neither fire the
      // delete trigger that releases its publication nor keep its messages.
      {sql::put_segment, "INSERT INTO segments(queue, first_seq, count, enqueued_at_ms, "
                         "publication, messages) VALUES(?1, ?2, ?3, ?4, ?5, ?6)"},
      {sql::put_publication, "INSERT INTO publications(id, messages) VALUES(?1, ?2)"},
      {sql::delete_unused_publication, "DELETE FROM publications WHERE id = ?1 AND refs <= 0"},
      {sql::append_events,
       "INSERT INTO segment_events(queue, first_seq, events) VALUES(?1, ?2, ?3)"},
      {sql::delete_segment, "DELETE FROM segments WHERE queue = ?1 AND first_seq = ?2"},
      {sql::delete_segment_events,
       "DELETE FROM segment_events WHERE queue = ?1 AND first_seq = ?2"},
      {sql::delete_queue_segments, "DELETE FROM segments WHERE queue = ?1"},
      {sql::delete_queue_events, "DELETE FROM segment_events WHERE queue = ?1"},
      {sql::delete_queue_dedup, "DELETE FROM dedup WHERE queue = ?1"},
      {sql::delete_orphaned_segments,
       "DELETE FROM segments WHERE queue NOT IN (SELECT name FROM catalog WHERE kind = ?1)"},
      {sql::delete_orphaned_events,
       "DELETE FROM segment_events WHERE queue NOT IN (SELECT name FROM catalog WHERE kind = ?1)"},
      {sql::delete_orphaned_dedup,
       "DELETE FROM dedup WHERE queue NOT IN (SELECT name FROM catalog WHERE kind = ?1)"},
      {sql::put_dedup,
       "INSERT OR REPLACE INTO dedup(queue, first_seq, records) VALUES(?1, ?2, ?3)"},
      {sql::delete_dedup_before, "DELETE FROM dedup WHERE queue = ?1 AND first_seq < ?2"},
      {sql::read_dedup,
       "SELECT '', first_seq, records FROM dedup WHERE queue = ?1 ORDER BY first_seq"},
      {sql::append_trace, "INSERT INTO trace(at_ms, events) VALUES(?1, ?2)"},
      {sql::delete_trace_before, "DELETE FROM trace WHERE at_ms < ?1"},
      {sql::put_consumed, "INSERT OR REPLACE INTO consumed(service, id, at_ms) VALUES(?1, ?2, ?3)"},
      {sql::delete_consumed_before, "DELETE FROM consumed WHERE service = ?1 AND at_ms < ?2"},
      // Rows are keyed by the start sequence, so the sagas in progress share the table's last
      // pages: a random key (the id) put every transition on a page of its own in the WAL.
      // The id's index is written once, at the insert; the status index when it changes.
      {sql::insert_saga, "INSERT INTO sagas(seq, id, definition, status, updated_at_ms, instance) "
                         "VALUES(?1, ?2, ?3, ?4, ?5, ?6)"},
      {sql::update_saga, "UPDATE sagas SET updated_at_ms = ?5, instance = ?6 WHERE seq = ?1"},
      {sql::update_saga_status,
       "UPDATE sagas SET status = ?4, updated_at_ms = ?5, instance = ?6 WHERE seq = ?1"},
      {sql::delete_finished_sagas,
       "DELETE FROM sagas WHERE status IN (1, 3) AND updated_at_ms < ?1"},
      {sql::put_dead_letter,
       // Never overwrites: a second arrival of one id is the same message shipped again (its
       // queue did not learn the sink had it before a crash); ids do not collide otherwise.
       "INSERT INTO dead_letters(sink, id, record) VALUES(?1, ?2, ?3) "
       "ON CONFLICT(sink, id) DO NOTHING"},
      {sql::delete_dead_letter, "DELETE FROM dead_letters WHERE sink = ?1 AND id = ?2"},
      {sql::delete_sink, "DELETE FROM dead_letters WHERE sink = ?1"},
      {sql::read_catalog, "SELECT name, 0, config FROM catalog WHERE kind = ?1 ORDER BY name"},
      {sql::read_segment_index,
       "SELECT first_seq, count, enqueued_at_ms FROM segments WHERE queue = ?1 ORDER BY first_seq"},
      {sql::read_segments_from,
       "SELECT s.first_seq, s.messages, p.messages FROM segments s "
       "LEFT JOIN publications p ON p.id = s.publication "
       "WHERE s.queue = ?1 AND s.first_seq >= ?2 ORDER BY s.first_seq",
       true},
      {sql::read_events,
       "SELECT '', first_seq, events FROM segment_events WHERE queue = ?1 ORDER BY id"},
      {sql::read_dead_letters,
       "SELECT id, 0, record FROM dead_letters WHERE sink = ?1 ORDER BY arrival"},
  };
  if (auto err = open_reader())
    return err;
  install_guard(db_, writer_statements_);
  install_guard(reader_, reader_statements_);
  for (const auto& e : entries) {
    auto* on = e.on_reader ? reader_ : db_;
    auto& stmt = statements_[static_cast<size_t>(e.id)];
    if (sqlite3_prepare_v3(on, e.text, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK)
      return e.on_reader ? reader_error(e.text) : sqlite_error(e.text);
  }
  for (size_t i = 0; i < statements_.size(); ++i)
    if (statements_[i] == nullptr)
      return make_error(errc::corruption, "journal: statement " + std::to_string(i) +
                                              " has no SQL (a bug: list it in entries)");
  return {};
}

caf::error journal::open_reader() {
  if (sqlite3_open_v2(options_.path.c_str(), &reader_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                      options_.io->vfs()) != SQLITE_OK)
    return reader_error("opening the read connection");
  char* message = nullptr;
  if (sqlite3_exec(reader_, "PRAGMA mmap_size=0", nullptr, nullptr, &message) != SQLITE_OK) {
    sqlite3_free(message);
    return reader_error("configuring the read connection");
  }
  return {};
}

std::optional<uint64_t> journal::free_below_watermark() {
  if (options_.min_free_bytes == 0)
    return std::nullopt;
  auto free = options_.io->free_bytes(directory_);
  if (!free)
    return std::nullopt; // cannot tell: the commit will say
  bool low = *free < options_.min_free_bytes;
  if (low != disk_low_) {
    disk_low_ = low;
    if (low)
      spdlog::error("journal '{}': {} bytes free, below the watermark of {} ([node] "
                    "min_free_disk): refusing sends until space is freed; consumers go on",
                    options_.path, *free, options_.min_free_bytes);
    else
      spdlog::warn("journal '{}': {} bytes free again: taking sends", options_.path, *free);
  }
  return low ? free : std::nullopt;
}

caf::error journal::below_watermark_error(uint64_t free) const {
  return make_error(errc::disk_full,
                    "journal '" + options_.path + "': " + std::to_string(free) +
                        " bytes free on its disk, below the watermark of " +
                        std::to_string(options_.min_free_bytes) +
                        " ([node] min_free_disk); sends resume once space is freed, receives and "
                        "acks go on");
}

void journal::submit(write_batch batch, callback done, callback applied) {
  caf::error refused;
  {
    std::lock_guard<std::mutex> guard{queue_mutex_};
    if (failed_)
      refused = failed_;
    else if (stopping_)
      refused = make_error(errc::unavailable, "journal is shutting down");
    else
      queue_.push_back({std::move(batch), std::move(done), std::move(applied), {}});
  }
  if (refused) {
    if (applied)
      applied(refused);
    done(refused);
    return;
  }
  wakeup_.notify_one();
}

caf::error journal::write(write_batch batch) {
  std::promise<caf::error> result;
  auto future = result.get_future();
  submit(std::move(batch), [&result](const caf::error& err) { result.set_value(err); });
  return future.get();
}

void journal::run() {
  std::deque<pending> group;
  for (;;) {
    {
      std::unique_lock<std::mutex> guard{queue_mutex_};
      wakeup_.wait(guard, [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty())
        return; // stopping, and everything submitted is committed
      group.swap(queue_);
    }
    // Below the watermark, what adds messages is refused (and not applied); the rest commits.
    // One statvfs per group commit, on this thread: the watermark needs no other state.
    if (auto free = free_below_watermark())
      for (auto& p : group)
        if (p.batch.adds_messages())
          p.own_error = below_watermark_error(*free);
    // Everything that arrived while the previous commit was fsyncing goes into this one:
    // that wait is the group-commit window, so it grows with load and costs nothing when idle.
    auto err = commit(group);
    {
      std::lock_guard<std::mutex> guard{queue_mutex_};
      stats_.commits += 1;
      stats_.batches += group.size();
      stats_.group_batches.observe(static_cast<double>(group.size()));
      for (auto& p : group)
        stats_.ops += p.batch.size();
      if (err && code_of(err) != errc::disk_full && !failed_) {
        spdlog::critical("journal commit failed, refusing further writes: {}", message_of(err));
        failed_ = err;
      }
    }
    if (err && code_of(err) == errc::disk_full)
      spdlog::error("journal commit failed for want of space (the commit is rolled back, later "
                    "ones are tried): {}",
                    message_of(err));
    for (auto& p : group)
      if (p.applied)
        p.applied(err ? err : p.own_error);
    {
      std::lock_guard<std::mutex> guard{sync_mutex_};
      to_sync_.push_back({std::move(group), std::move(err)});
    }
    sync_wakeup_.notify_one();
    group = {};
  }
}

void journal::sync_loop() {
  std::deque<committed_group> groups;
  // Once an fdatasync failed, what reached the disk is unknown ("fsyncgate": a later one may
  // succeed without the lost pages): nothing is confirmed after that.
  caf::error sync_failed;
  for (;;) {
    {
      std::unique_lock<std::mutex> guard{sync_mutex_};
      sync_wakeup_.wait(guard, [this] { return !to_sync_.empty() || sync_stopping_; });
      if (to_sync_.empty())
        return; // stopping, and every committed batch is confirmed
      groups.swap(to_sync_);
    }
    // One fdatasync covers every group committed before it started.
    bool any_committed = std::any_of(groups.begin(), groups.end(),
                                     [](const committed_group& g) { return !g.error; });
    int sync_errno = 0;
    auto sync_started = std::chrono::steady_clock::now();
    bool synced = !sync_failed && any_committed && wal_fd_ >= 0;
    if (synced) {
      sync_errno = options_.io->sync(wal_fd_, options_.path + "-wal");
      std::chrono::duration<double> took = std::chrono::steady_clock::now() - sync_started;
      std::lock_guard<std::mutex> guard{queue_mutex_};
      stats_.fsync_seconds.observe(took.count());
    }
    if (sync_errno != 0) {
      sync_failed =
          make_error(errc::io_error, "journal '" + options_.path +
                                         "': syncing the WAL: " + std::strerror(sync_errno));
      std::lock_guard<std::mutex> guard{queue_mutex_};
      if (!failed_) {
        spdlog::critical("journal sync failed, refusing further writes: {}",
                         message_of(sync_failed));
        failed_ = sync_failed;
      }
    }
    for (auto& g : groups) {
      const auto& err = g.error ? g.error : sync_failed;
      for (auto& p : g.batches)
        p.done(err ? err : p.own_error);
    }
    groups.clear();
  }
}

caf::error journal::commit(std::deque<pending>& group) {
  std::lock_guard<std::recursive_mutex> guard{db_mutex_};
  if (auto err = exec("BEGIN"))
    return err;
  for (auto& p : group) {
    if (p.own_error)
      continue; // refused before the commit (the watermark)
    if (p.batch.isolated()) {
      if (auto err = apply_isolated(p)) {
        exec("ROLLBACK");
        return err;
      }
      continue;
    }
    for (auto& op : p.batch.ops_)
      if (auto err = apply(op)) {
        exec("ROLLBACK");
        return err;
      }
  }
  if (auto err = exec("COMMIT")) {
    exec("ROLLBACK");
    return err;
  }
  return {};
}

caf::error journal::exec(sql s) {
  auto* stmt = statement(s);
  auto rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  return rc == SQLITE_DONE ? caf::error{} : sqlite_error(sqlite3_sql(stmt));
}

caf::error journal::apply_isolated(pending& p) {
  if (auto err = exec(sql::savepoint))
    return err;
  for (auto& op : p.batch.ops_) {
    auto err = apply(op);
    if (!err)
      continue;
    if (code_of(err) != errc::invalid_argument)
      return err; // I/O: the whole group fails and the journal stops
    // A service statement failed: undo this batch only; the rest of the group commits.
    p.own_error = std::move(err);
    if (auto e = exec(sql::rollback_to_savepoint))
      return e;
    break;
  }
  return exec(sql::release_savepoint);
}

namespace {

template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

} // namespace

caf::error journal::apply(const write_batch::op& op) {
  using w = write_batch;
  auto step = [this](sql s) -> caf::error {
    auto* stmt = statement(s);
    auto rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    sqlite3_clear_bindings(stmt);
    if (rc != SQLITE_DONE)
      return sqlite_error(sqlite3_sql(stmt));
    return {};
  };
  auto text = [this](sql s, int index, const std::string& value) {
    bind_text(statement(s), index, value);
  };
  auto blob = [this](sql s, int index, const std::string& value) {
    bind_blob(statement(s), index, value);
  };
  auto integer = [this](sql s, int index, auto value) {
    sqlite3_bind_int64(statement(s), index, static_cast<int64_t>(value));
  };
  // Runs each statement, in order, with `value` as its one parameter.
  auto each_with_text = [&](std::initializer_list<sql> statements, const std::string& value) {
    for (auto s : statements) {
      text(s, 1, value);
      if (auto err = step(s))
        return err;
    }
    return caf::error{};
  };
  return std::visit(
      overloaded{
          [&](const w::put_catalog_op& o) {
            text(sql::put_catalog, 1, o.kind);
            text(sql::put_catalog, 2, o.name);
            blob(sql::put_catalog, 3, o.blob);
            return step(sql::put_catalog);
          },
          [&](const w::delete_catalog_op& o) {
            text(sql::delete_catalog, 1, o.kind);
            text(sql::delete_catalog, 2, o.name);
            return step(sql::delete_catalog);
          },
          [&](const w::put_segment_op& o) {
            text(sql::put_segment, 1, o.queue);
            integer(sql::put_segment, 2, o.first_seq);
            integer(sql::put_segment, 3, o.count);
            integer(sql::put_segment, 4, o.enqueued_at_ms);
            if (o.publication != 0)
              integer(sql::put_segment, 5, o.publication);
            else
              sqlite3_bind_null(statement(sql::put_segment), 5);
            blob(sql::put_segment, 6, o.blob);
            return step(sql::put_segment);
          },
          [&](const w::put_publication_op& o) {
            integer(sql::put_publication, 1, o.id);
            blob(sql::put_publication, 2, o.blob);
            return step(sql::put_publication);
          },
          [&](const w::delete_unused_publication_op& o) {
            integer(sql::delete_unused_publication, 1, o.id);
            return step(sql::delete_unused_publication);
          },
          [&](const w::append_events_op& o) {
            text(sql::append_events, 1, o.queue);
            integer(sql::append_events, 2, o.first_seq);
            blob(sql::append_events, 3, o.blob);
            return step(sql::append_events);
          },
          [&](const w::delete_segment_op& o) -> caf::error {
            text(sql::delete_segment, 1, o.queue);
            integer(sql::delete_segment, 2, o.first_seq);
            if (auto err = step(sql::delete_segment))
              return err;
            text(sql::delete_segment_events, 1, o.queue);
            integer(sql::delete_segment_events, 2, o.first_seq);
            return step(sql::delete_segment_events);
          },
          [&](const w::delete_queue_data_op& o) {
            return each_with_text(
                {sql::delete_queue_segments, sql::delete_queue_events, sql::delete_queue_dedup},
                o.queue);
          },
          [&](const w::delete_orphaned_queue_data_op& o) {
            return each_with_text({sql::delete_orphaned_segments, sql::delete_orphaned_events,
                                   sql::delete_orphaned_dedup},
                                  o.queue_kind);
          },
          [&](const w::put_dedup_op& o) {
            text(sql::put_dedup, 1, o.queue);
            integer(sql::put_dedup, 2, o.first_seq);
            blob(sql::put_dedup, 3, o.blob);
            return step(sql::put_dedup);
          },
          [&](const w::delete_dedup_before_op& o) {
            text(sql::delete_dedup_before, 1, o.queue);
            integer(sql::delete_dedup_before, 2, o.first_seq);
            return step(sql::delete_dedup_before);
          },
          [&](const w::barrier_op&) { return caf::error{}; },
          [&](const w::append_trace_op& o) {
            integer(sql::append_trace, 1, o.at_ms);
            blob(sql::append_trace, 2, o.blob);
            return step(sql::append_trace);
          },
          [&](const w::delete_trace_before_op& o) {
            integer(sql::delete_trace_before, 1, o.at_ms);
            return step(sql::delete_trace_before);
          },
          [&](const w::put_consumed_op& o) {
            text(sql::put_consumed, 1, o.service);
            text(sql::put_consumed, 2, o.id);
            integer(sql::put_consumed, 3, o.at_ms);
            return step(sql::put_consumed);
          },
          [&](const w::delete_consumed_before_op& o) {
            text(sql::delete_consumed_before, 1, o.service);
            integer(sql::delete_consumed_before, 2, o.at_ms);
            return step(sql::delete_consumed_before);
          },
          [&](const w::execute_op& o) { return run_service_statement(o.sql, o.params); },
          [&](const w::put_dead_letter_op& o) {
            text(sql::put_dead_letter, 1, o.sink);
            text(sql::put_dead_letter, 2, o.id);
            blob(sql::put_dead_letter, 3, o.blob);
            return step(sql::put_dead_letter);
          },
          [&](const w::delete_dead_letter_op& o) {
            text(sql::delete_dead_letter, 1, o.sink);
            text(sql::delete_dead_letter, 2, o.id);
            return step(sql::delete_dead_letter);
          },
          [&](const w::delete_sink_data_op& o) {
            text(sql::delete_sink, 1, o.sink);
            return step(sql::delete_sink);
          },
          [&](const w::put_saga_op& o) {
            auto s = o.how == w::saga_put::insert   ? sql::insert_saga
                     : o.how == w::saga_put::update ? sql::update_saga
                                                    : sql::update_saga_status;
            integer(s, 1, o.seq);
            if (o.how == w::saga_put::insert) {
              text(s, 2, o.id);
              text(s, 3, o.definition);
            }
            if (o.how != w::saga_put::update)
              integer(s, 4, o.status);
            integer(s, 5, o.updated_at_ms);
            blob(s, 6, o.blob);
            return step(s);
          },
          [&](const w::delete_finished_sagas_before_op& o) {
            integer(sql::delete_finished_sagas, 1, o.at_ms);
            return step(sql::delete_finished_sagas);
          },
      },
      op);
}

caf::error journal::each_row(sqlite3_stmt* stmt, const char* what,
                             const std::function<void(sqlite3_stmt*)>& bind,
                             const std::function<bool(sqlite3_stmt*)>& row) {
  bool on_reader = sqlite3_db_handle(stmt) == reader_;
  std::lock_guard<std::recursive_mutex> guard{on_reader ? reader_mutex_ : db_mutex_};
  bind(stmt);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && row(stmt)) {
  }
  caf::error result;
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    result = on_reader ? reader_error(what) : sqlite_error(what);
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  return result;
}

caf::error journal::scan(sqlite3_stmt* stmt, const std::string& key, const row_visitor& visit,
                         bool key_from_column) {
  caf::error result;
  auto err = each_row(
      stmt, "read", [&](sqlite3_stmt* s) { bind_text(s, 1, key); },
      [&](sqlite3_stmt* s) {
        std::string row_key =
            key_from_column ? std::string{reinterpret_cast<const char*>(sqlite3_column_text(s, 0)),
                                          static_cast<size_t>(sqlite3_column_bytes(s, 0))}
                            : key;
        auto seq = static_cast<uint64_t>(sqlite3_column_int64(s, 1));
        auto* data = static_cast<const char*>(sqlite3_column_blob(s, 2));
        std::string blob{data ? data : "", static_cast<size_t>(sqlite3_column_bytes(s, 2))};
        result = visit(row_key, seq, blob);
        return !result;
      });
  return result ? result : err;
}

caf::error journal::read_catalog(const std::string& kind, const row_visitor& visit) {
  return scan(statement(sql::read_catalog), kind, visit, true);
}

caf::error journal::read_segment_index(const std::string& queue, const index_visitor& visit) {
  caf::error result;
  auto err = each_row(
      statement(sql::read_segment_index), "read", [&](sqlite3_stmt* s) { bind_text(s, 1, queue); },
      [&](sqlite3_stmt* s) {
        // NULL (a format-1 row): 0, which tells the caller to read the segment whole.
        result =
            visit(static_cast<uint64_t>(sqlite3_column_int64(s, 0)),
                  static_cast<uint32_t>(sqlite3_column_int64(s, 1)), sqlite3_column_int64(s, 2));
        return !result;
      });
  return result ? result : err;
}

caf::error journal::read_segments_from(const std::string& queue, uint64_t first_seq,
                                       const segment_visitor& visit) {
  return each_row(
      statement(sql::read_segments_from), "reading segments back",
      [&](sqlite3_stmt* s) {
        bind_text(s, 1, queue);
        sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(first_seq));
      },
      [&](sqlite3_stmt* s) {
        auto column = [s](int i) {
          auto* data = static_cast<const char*>(sqlite3_column_blob(s, i));
          return std::string_view{data ? data : "",
                                  static_cast<size_t>(sqlite3_column_bytes(s, i))};
        };
        return visit(static_cast<uint64_t>(sqlite3_column_int64(s, 0)), column(1), column(2));
      });
}

caf::error journal::read_events(const std::string& queue, const row_visitor& visit) {
  return scan(statement(sql::read_events), queue, visit, false);
}

caf::error journal::read_trace(const row_visitor& visit) {
  return scan(statement(sql::read_trace), {}, visit, false);
}

caf::error journal::read_dedup(const std::string& queue, const row_visitor& visit) {
  return scan(statement(sql::read_dedup), queue, visit, false);
}

caf::error journal::read_dead_letters(const std::string& sink, const row_visitor& visit) {
  return scan(statement(sql::read_dead_letters), sink, visit, true);
}

journal_stats journal::stats() const {
  std::lock_guard<std::mutex> guard{queue_mutex_};
  return stats_;
}

caf::error journal::refusing_writes() const {
  std::lock_guard<std::mutex> guard{queue_mutex_};
  return failed_;
}

} // namespace mailroom
