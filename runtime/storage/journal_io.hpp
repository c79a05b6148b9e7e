// What the journal asks of the file system, behind one seam: the SQLite VFS its database opens
// with, the fdatasync of the WAL that confirms batches, and the free space it checks against the
// watermark. The default is the real thing; tests substitute fault_io (fault_io.hpp) to fail
// or lose what `kill -9` cannot show: a failed fsync, a full disk, writes never synced.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace mailroom {

class journal_io {
public:
  virtual ~journal_io() = default;
  /// The SQLite VFS for the database; nullptr: SQLite's default.
  virtual const char* vfs() const { return nullptr; }
  /// Makes what was written to `path` (open as `fd`) durable. 0, or the errno of the failure.
  virtual int sync(int fd, const std::string& path);
  /// Bytes an unprivileged writer may still use on the file system holding `dir`; nothing if
  /// it cannot be told.
  virtual std::optional<uint64_t> free_bytes(const std::string& dir);
};

} // namespace mailroom
