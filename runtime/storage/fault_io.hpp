// A journal_io that fails or loses what the journal writes, for tests of what `kill -9` cannot
// show. It registers a SQLite VFS over the default one, so every open, write, sync and truncate
// of the database and its WAL passes through it, and it does the journal's own WAL sync.
//
// - fail(op, code) makes every later `op` (reads too: a queue reading bodies back) fail
// (SQLITE_FULL for a full disk, SQLITE_IOERR_* or
//   an errno for a sync) until heal(op).
// - Lost writes: for every write not yet synced it keeps what the write overwrote. crash()
//   puts that back and cuts files to their synced size, as a power loss would (the page cache,
//   which kill -9 keeps, is gone), then fails everything after. crash_at_write(n) crashes
//   just before the n-th write, so a seed picks a reproducible point.
// - set_free_bytes() replaces what statvfs would say, for the free-disk watermark.
#pragma once

#include "journal_io.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace mailroom {

class fault_io final : public journal_io {
public:
  enum class op { open, write, sync, truncate, read };

  fault_io();
  ~fault_io() override; ///< unregisters the VFS: every database using it must be closed

  fault_io(const fault_io&) = delete;
  fault_io& operator=(const fault_io&) = delete;

  const char* vfs() const override;
  int sync(int fd, const std::string& path) override;
  std::optional<uint64_t> free_bytes(const std::string& dir) override;

  /// Every later `o` fails with `code`: an SQLite result code (SQLITE_FULL, SQLITE_IOERR_WRITE)
  /// for open, write, truncate and read; for sync, SQLITE_IOERR_FSYNC to SQLite and EIO to the
  /// journal's own sync.
  void fail(op o, int code);
  void heal(op o);

  void set_free_bytes(std::optional<uint64_t> bytes);

  /// Loses every unsynced write now; everything after fails.
  void crash();
  /// Crashes just before write number `n` (counted from 1 over all files) starts.
  void crash_at_write(uint64_t n);
  bool crashed() const;
  uint64_t writes() const;

  struct state; // shared with the VFS callbacks

private:
  std::unique_ptr<state> state_;
};

} // namespace mailroom
