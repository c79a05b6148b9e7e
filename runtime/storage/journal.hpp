// The node's journal: one SQLite database (WAL) with group commit and a pipelined fsync.
//
// Ownership and threads: the node owns the journal. Any thread may call submit(); a dedicated
// journal thread takes everything submitted since its last commit and applies it in submission
// order in ONE transaction. It does not wait for the disk: the committed group goes to the sync
// thread, which fdatasyncs the WAL (once for every group committed since its last sync) and only
// then runs each batch's callback, in submission order. While it waits for the disk, the journal
// thread commits the next group. Callbacks must be cheap and must not block: they send a CAF
// message.
//
// Why this is durable: SQLite runs with synchronous=NORMAL, which writes a commit's WAL frames
// without syncing them but still syncs the WAL before every checkpoint and the database after
// it; a batch is confirmed only after an fdatasync of the WAL that began after its commit
// returned, so its frames (commit frame included) are on disk. Committed but not yet synced
// data is visible to reads on this node; a power loss may take it, but nobody was told it was
// stored. A process crash (kill -9) loses nothing written: the page cache keeps it.
//
// Failure policy: a failed commit is rolled back and fails every batch in it. A full disk
// (SQLITE_FULL) fails that commit only, with errc::disk_full: SQLite rolled the transaction back
// and the database is as it was, so the next commit may succeed once space is freed. Any other
// failure of a commit or of the WAL's fdatasync fails with io_error and the journal then
// refuses all further writes (fail-stop, as databases do after an fsync error, since the state
// on disk is no longer known). Restarting the node recovers from what was committed.
//
// Free-disk watermark: below options.min_free_bytes, a batch that adds messages is refused
// with errc::disk_full, naming the limit, while batches that drain (receives, acks,
// purges, dead letters, deletes) go on. The journal thread looks at the free space (statvfs)
// before every group commit and refuses such batches of the group while it is low, so sends
// resume by themselves with the first group commit after space is back.
//
// Actors never see SQLite: they describe their writes as a write_batch of opaque blobs (Cap'n
// Proto records from schemas/journal.capnp). The table layout is in docs/journal-format.md.
#pragma once

#include "journal_io.hpp"
#include "mailroom/error.hpp"
#include "mailroom/sql_value.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <vector>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <unordered_map>
#include <variant>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace mailroom {

/// Where the shared part of each message of a send is journaled already: message i is entry
/// `entries[i]` of publication `id` (copies of a topic's publish; see put_publication).
struct publication_ref {
  uint64_t id = 0;
  std::vector<uint32_t> entries;
};

/// Writes that commit together or not at all. Built by one actor, applied by the journal thread.
class write_batch {
public:
  void put_catalog(std::string kind, std::string name, std::string blob);
  void delete_catalog(std::string kind, std::string name);
  /// A new segment of a queue, `count` messages enqueued at `enqueued_at_ms`: the blob is a
  /// schema::Segment.
  void put_segment(std::string queue, uint64_t first_seq, uint32_t count, int64_t enqueued_at_ms,
                   std::string blob);
  /// The same for copies of a topic's publish (`publication` 0: none): the blob holds what is
  /// the queue's own, the publication (put earlier in this batch or before) what they share.
  void put_segment(std::string queue, uint64_t first_seq, uint32_t count, int64_t enqueued_at_ms,
                   uint64_t publication, std::string blob);
  /// What the copies of one publish share (a schema::Publication), under an id from
  /// journal::new_publication_id(). It lives while a segment names it.
  void put_publication(uint64_t id, std::string blob);
  /// Deletes publication `id` if no segment names it (every copy was a duplicate).
  void delete_unused_publication(uint64_t id);
  /// Events for messages of one segment: the blob is a schema::SegmentEvents.
  void append_events(std::string queue, uint64_t first_seq, std::string blob);
  /// Deletes a segment and all its events.
  void delete_segment(std::string queue, uint64_t first_seq);
  /// Deletes every segment and event of a queue.
  void delete_queue_data(std::string queue);
  /// Deletes the segments, events and dedup records of every queue that has no catalog row of
  /// kind `queue_kind` (what a deleted queue's actor committed after its deletion).
  void delete_orphaned_queue_data(std::string queue_kind);
  /// Dedup records of one send batch: the blob is a schema::DedupRecords.
  void put_dedup(std::string queue, uint64_t first_seq, std::string blob);
  /// Deletes a queue's dedup records of batches before `first_seq` (their window ended).
  void delete_dedup_before(std::string queue, uint64_t first_seq);
  /// Writes nothing, but is confirmed only after everything submitted before it is durable.
  void barrier();
  /// Events of messages' stories (a schema::TraceEvents), for `mailroom trace`.
  void append_trace(int64_t at_ms, std::string blob);
  /// Forgets trace rows older than `at_ms`.
  void delete_trace_before(int64_t at_ms);
  /// A transactional service consumed message `id` (its inbox; see transaction.hpp).
  void put_consumed(std::string service, std::string id, int64_t at_ms);
  /// Forgets a service's inbox entries older than `at_ms`.
  void delete_consumed_before(std::string service, int64_t at_ms);
  /// A service's own SQL statement. Makes the batch isolated: if a statement fails (a
  /// constraint, a missing table), only this batch is rolled back and fails, with
  /// errc::invalid_argument; the rest of the group commits. REQUIRES: check_statement() passed.
  void execute(std::string sql, std::vector<sql_value> params);
  /// A saga instance's state (a schema::SagaInstance), replacing the previous one. `seq`
  /// orders instances by start (see journal::max_saga_seq).
  /// How a put_saga changes the row: insert it (the first put of an instance), rewrite it,
  /// or rewrite it and its status (which is indexed, so only rewritten when it changed).
  enum class saga_put : uint8_t { insert, update, update_status };
  void put_saga(saga_put how, uint64_t seq, std::string id, std::string definition, uint8_t status,
                int64_t updated_at_ms, std::string blob);
  /// Forgets finished (COMPLETED, COMPENSATED) sagas last updated before `at_ms`.
  void delete_finished_sagas_before(int64_t at_ms);
  void put_dead_letter(std::string sink, std::string id, std::string blob);
  void delete_dead_letter(std::string sink, std::string id);
  void delete_sink_data(std::string sink);

  /// Appends another batch's writes after this one's.
  void append(write_batch&& other);

  bool empty() const { return ops_.empty(); }
  /// Whether the batch brings new messages in (a send's segment, a saga's start): what the
  /// free-disk watermark refuses. Receives, acks, purges, dead-lettering and deletes drain.
  bool adds_messages() const;
  bool isolated() const { return isolated_; }
  size_t size() const { return ops_.size(); }

private:
  friend class journal;
  // One struct per kind of write, each applied with its own statements (journal::apply).
  struct put_catalog_op {
    std::string kind, name, blob;
  };
  struct delete_catalog_op {
    std::string kind, name;
  };
  struct put_segment_op {
    std::string queue;
    uint64_t first_seq;
    uint32_t count;
    int64_t enqueued_at_ms;
    std::string blob;
    uint64_t publication = 0; ///< 0: none
  };
  struct put_publication_op {
    uint64_t id;
    std::string blob;
  };
  struct delete_unused_publication_op {
    uint64_t id;
  };
  struct append_events_op {
    std::string queue;
    uint64_t first_seq;
    std::string blob;
  };
  struct delete_segment_op {
    std::string queue;
    uint64_t first_seq;
  };
  struct delete_queue_data_op {
    std::string queue;
  };
  struct delete_orphaned_queue_data_op {
    std::string queue_kind;
  };
  struct put_dedup_op {
    std::string queue;
    uint64_t first_seq;
    std::string blob;
  };
  struct delete_dedup_before_op {
    std::string queue;
    uint64_t first_seq;
  };
  struct barrier_op {};
  struct append_trace_op {
    int64_t at_ms;
    std::string blob;
  };
  struct delete_trace_before_op {
    int64_t at_ms;
  };
  struct put_consumed_op {
    std::string service, id;
    int64_t at_ms;
  };
  struct delete_consumed_before_op {
    std::string service;
    int64_t at_ms;
  };
  struct execute_op {
    std::string sql;
    std::vector<sql_value> params;
  };
  struct put_dead_letter_op {
    std::string sink, id, blob;
  };
  struct delete_dead_letter_op {
    std::string sink, id;
  };
  struct delete_sink_data_op {
    std::string sink;
  };
  struct put_saga_op {
    saga_put how;
    uint64_t seq;
    std::string id, definition;
    uint8_t status;
    int64_t updated_at_ms;
    std::string blob;
  };
  struct delete_finished_sagas_before_op {
    int64_t at_ms;
  };
  using op =
      std::variant<put_catalog_op, delete_catalog_op, put_segment_op, append_events_op,
                   delete_segment_op, delete_queue_data_op, put_dedup_op, delete_dedup_before_op,
                   barrier_op, append_trace_op, delete_trace_before_op, put_consumed_op,
                   delete_consumed_before_op, execute_op, put_dead_letter_op, delete_dead_letter_op,
                   delete_sink_data_op, put_saga_op, delete_finished_sagas_before_op,
                   put_publication_op, delete_unused_publication_op, delete_orphaned_queue_data_op>;
  std::vector<op> ops_;
  bool isolated_ = false;
};

/// What a failed SQLite write means for the journal: SQLITE_FULL is disk_full (that commit fails,
/// the next is tried; see "Failure policy"), anything else io_error (fail-stop).
errc journal_failure_code(int sqlite_rc);

struct journal_options {
  std::string path;        ///< the database file; its directory must exist
  bool synchronous = true; ///< false only for benchmarks of the non-durable path
  /// Below this many free bytes on the file system, batches that add messages are refused
  /// with errc::disk_full (see adds_messages()); 0: never.
  uint64_t min_free_bytes = 0;
  /// The file system as the journal uses it; tests pass a fault_io. Null: the real one.
  std::shared_ptr<journal_io> io;
};

/// Counts of observations at or below each bound (the last bucket is everything above the
/// highest bound), with their sum: what a Prometheus histogram shows, made cumulative there.
struct histogram {
  explicit histogram(std::vector<double> upper_bounds)
      : bounds(std::move(upper_bounds)), counts(bounds.size() + 1, 0) {}

  void observe(double value) {
    size_t at = 0;
    while (at < bounds.size() && value > bounds[at])
      ++at;
    ++counts[at];
    sum += value;
    ++count;
  }

  std::vector<double> bounds;
  std::vector<uint64_t> counts; ///< per bucket, not cumulative
  double sum = 0;
  uint64_t count = 0;
};

struct journal_stats {
  uint64_t commits = 0;
  uint64_t batches = 0;
  uint64_t ops = 0;
  /// Batches per group commit (1 to 4096 in powers of 2).
  histogram group_batches{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}};
  /// Seconds one fdatasync of the WAL took.
  histogram fsync_seconds{
      {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1}};
};

class journal {
public:
  using callback = std::function<void(const caf::error&)>;

  /// Opens (creating if needed) the database and starts the journal and sync threads.
  static caf::expected<std::unique_ptr<journal>> open(journal_options options);

  /// Commits everything submitted so far, then stops the thread and closes the database.
  ~journal();

  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  /// Queues a batch for the next group commit. `done` runs on the sync thread once the
  /// batch is durable (error: none) or has failed. `applied` (optional) runs on the journal
  /// thread before that, once the batch is in the database (queries see it) or has failed to
  /// be; it is not durable yet, but nothing later can be durable without it.
  void submit(write_batch batch, callback done, callback applied = {});

  /// Submits and blocks the calling thread until the batch is durable. REQUIRES: not called
  /// from a callback (the sync thread).
  caf::error write(write_batch batch);

  // Reads for recovery. Each visits rows in key order; a visitor returning an error stops the
  // scan and that error is returned. A visitor may start a scan of another kind (a catalog
  // visitor may read that queue's segments), but not a second scan of the same kind.
  using row_visitor =
      std::function<caf::error(const std::string& key, uint64_t seq, const std::string& blob)>;
  caf::error read_catalog(const std::string& kind, const row_visitor& visit);
  /// A queue's segments without their bodies, in order: (first_seq, count, enqueued_at_ms);
  /// count 0 for a segment journaled by format 1, which only its blob describes.
  using index_visitor =
      std::function<caf::error(uint64_t first_seq, uint32_t count, int64_t enqueued_at_ms)>;
  caf::error read_segment_index(const std::string& queue, const index_visitor& visit);
  /// While the node runs (any thread), and at recovery: committed segments of a queue from
  /// `first_seq` on, in order, while `visit` returns true. `shared` is the publication the
  /// segment names (empty: none). Both are valid only during the call.
  using segment_visitor =
      std::function<bool(uint64_t first_seq, std::string_view blob, std::string_view shared)>;
  caf::error read_segments_from(const std::string& queue, uint64_t first_seq,
                                const segment_visitor& visit);
  /// Events of a queue in append order; `seq` is the segment's first_seq.
  caf::error read_events(const std::string& queue, const row_visitor& visit);
  /// Every trace row, oldest first; `seq` is the row's time (unix ms).
  caf::error read_trace(const row_visitor& visit);
  /// Whether a transactional service consumed message `id` already.
  caf::expected<bool> consumed(const std::string& service, const std::string& id);
  /// Checks a service statement without running it: it compiles and touches no journal table.
  caf::error check_statement(const std::string& sql);
  /// Runs a read-only service statement on committed state.
  caf::expected<std::vector<sql_row>> query(const std::string& sql,
                                            const std::vector<sql_value>& params);

  /// Dedup records of a queue; `seq` is the send batch's first_seq.
  caf::error read_dedup(const std::string& queue, const row_visitor& visit);
  /// The highest saga start sequence journaled (0: none).
  caf::expected<uint64_t> max_saga_seq();
  /// Saga instances, newest start first; `key` is the id, `seq` the status. Empty
  /// `definition`: all; `statuses`: those whose status is listed (empty: any); at most `max`.
  caf::error read_sagas(const std::string& definition, const std::vector<uint8_t>& statuses,
                        uint32_t max, const row_visitor& visit);
  /// One saga instance's blob; errc::unknown_queue if there is none.
  caf::expected<std::string> read_saga(const std::string& id);

  /// Dead letters of a sink; `key` is the message id.
  caf::error read_dead_letters(const std::string& sink, const row_visitor& visit);

  journal_stats stats() const;
  /// Why the journal refuses writes (a failed commit or fsync: fail-stop until restart), or
  /// nothing while it takes them.
  caf::error refusing_writes() const;

  /// An id for put_publication, unique in this journal (any thread).
  uint64_t new_publication_id() { return ++last_publication_id_; }

private:
  struct pending {
    write_batch batch;
    callback done;
    callback applied;
    caf::error own_error; ///< an isolated batch that failed alone, or one the watermark refused
  };

  explicit journal(journal_options options);
  caf::error open_database();
  /// Refuses a database written by a newer format than this build's.
  /// The format found (0: a new database); refuses one newer than this build's.
  caf::expected<int> check_format_version();
  void sync_loop();
  /// The free bytes when the file system is below the watermark (asks it now); nothing when
  /// there is room or no watermark. Logs each change between the two. Journal thread only.
  std::optional<uint64_t> free_below_watermark();
  caf::error below_watermark_error(uint64_t free) const;
  caf::error prepare_statements();
  void run();
  caf::error commit(std::deque<pending>& group);
  caf::error apply(const write_batch::op& op);
  caf::error apply_isolated(pending& p);
  /// Service statements compiled on one connection, by text (a handler runs the same few on
  /// every message; compiling them took half the service's time). Their guard (see
  /// journal_service_sql.cpp) is on while `guarding`, which covers a recompile inside a step.
  struct service_statements {
    std::unordered_map<std::string, sqlite3_stmt*> by_text;
    bool guarding = false;
  };
  /// Compiles a service statement with the guard that keeps it off the journal's own tables;
  /// the caller finalizes it.
  caf::expected<sqlite3_stmt*> prepare_service_statement(sqlite3* on, service_statements& cache,
                                                         const std::string& sql);
  /// The compiled statement for `sql` from `cache`, compiled now if it is not there.
  caf::expected<sqlite3_stmt*> service_statement(sqlite3* on, service_statements& cache,
                                                 const std::string& sql);
  /// Installs the guard on a connection, active only while `cache.guarding`.
  void install_guard(sqlite3* on, service_statements& cache);
  static void finalize_all(service_statements& cache);
  caf::error run_service_statement(const std::string& sql, const std::vector<sql_value>& params);
  caf::error exec(const char* sql);
  caf::error sqlite_error(const char* what) const;
  caf::error reader_error(const char* what) const;
  caf::error open_reader();
  /// Under its connection's lock: binds `stmt`'s parameters, hands each row to `row` until it
  /// returns false, then resets it. A failed step is an error naming `what`.
  caf::error each_row(sqlite3_stmt* stmt, const char* what,
                      const std::function<void(sqlite3_stmt*)>& bind,
                      const std::function<bool(sqlite3_stmt*)>& row);
  caf::error scan(sqlite3_stmt* stmt, const std::string& key, const row_visitor& visit,
                  bool key_from_column);

  journal_options options_;
  sqlite3* db_ = nullptr;

  // Prepared statements, each listed once: its name here, its SQL in journal.cpp. Those of
  // the writer are used under db_mutex_, the reader's (read_trace, read_consumed) under
  // reader_mutex_.
  enum class sql : uint8_t {
    put_catalog,
    delete_catalog,
    put_segment,
    put_publication,
    delete_unused_publication,
    append_events,
    delete_segment,
    delete_segment_events,
    delete_queue_segments,
    delete_queue_events,
    delete_queue_dedup,
    delete_orphaned_segments,
    delete_orphaned_events,
    delete_orphaned_dedup,
    put_dedup,
    delete_dedup_before,
    read_dedup,
    append_trace,
    delete_trace_before,
    read_trace,
    put_consumed,
    delete_consumed_before,
    read_consumed,
    insert_saga,
    update_saga,
    update_saga_status,
    delete_finished_sagas,
    put_dead_letter,
    delete_dead_letter,
    delete_sink,
    read_catalog,
    read_segment_index,
    read_segments_from,
    read_events,
    read_dead_letters,
    savepoint, // around an isolated batch: compiled once, it runs for every service message
    release_savepoint,
    rollback_to_savepoint,
    count,
  };
  std::array<sqlite3_stmt*, static_cast<size_t>(sql::count)> statements_{};
  sqlite3_stmt* statement(sql s) const { return statements_[static_cast<size_t>(s)]; }
  /// Runs one of the journal's statements that take no parameters and return no rows.
  caf::error exec(sql s);

  // Lock order: queue_mutex_ is never held while taking db_mutex_.
  mutable std::mutex queue_mutex_; // guards queue_, stopping_, failed_, stats_
  std::condition_variable wakeup_; // signalled on submit and stop
  std::deque<pending> queue_;      // GUARDED_BY(queue_mutex_)
  bool stopping_ = false;          // GUARDED_BY(queue_mutex_)
  caf::error failed_;              // GUARDED_BY(queue_mutex_): set once a commit failed
  journal_stats stats_;            // GUARDED_BY(queue_mutex_)

  // Committed groups waiting for the WAL's fdatasync, and the sync thread that does it.
  struct committed_group {
    std::deque<pending> batches;
    caf::error error; ///< the commit failed: no sync, every batch fails with it
  };
  std::mutex sync_mutex_;
  std::condition_variable sync_wakeup_;
  std::deque<committed_group> to_sync_; // GUARDED_BY(sync_mutex_)
  bool sync_stopping_ = false;          // GUARDED_BY(sync_mutex_)
  int wal_fd_ = -1;       ///< our own descriptor of the WAL file, for fdatasync; -1: not durable
  std::string directory_; ///< where the database is, for the free-space check
  bool disk_low_ = false; ///< below the watermark when last looked at (for the log)
  std::thread sync_thread_;

  // Guards db_ and the statements. Recursive because recovery nests scans: a catalog visitor
  // reads that queue's segments (each scan uses its own prepared statement).
  std::recursive_mutex db_mutex_;
  service_statements writer_statements_;    // under db_mutex_
  std::mutex checked_mutex_;                // guards checked_
  std::unordered_set<std::string> checked_; ///< service statements check_statement() passed
  // A second, read-only connection for queries while the node runs (traces, saga listings,
  // service queries, the inbox check): WAL readers never wait for the writer, so a long scan
  // does not hold up a group commit. Its statements (read_trace, read_consumed) live on it.
  sqlite3* reader_ = nullptr;
  std::recursive_mutex reader_mutex_;
  service_statements reader_statements_; // under reader_mutex_
  std::thread thread_;
  std::atomic<uint64_t> last_publication_id_{0}; ///< the highest in the table at open, then taken
};

} // namespace mailroom
