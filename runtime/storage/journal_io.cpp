#include "journal_io.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>

namespace mailroom {

int journal_io::sync(int fd, const std::string&) {
  return ::fdatasync(fd) == 0 ? 0 : errno;
}

std::optional<uint64_t> journal_io::free_bytes(const std::string& dir) {
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0)
    return std::nullopt;
  return uint64_t{fs.f_bavail} * fs.f_frsize;
}

} // namespace mailroom
