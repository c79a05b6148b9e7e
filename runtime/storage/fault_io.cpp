#include "fault_io.hpp"

#include <sqlite3.h>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

namespace mailroom {

namespace {

std::string canonical(const char* path) {
  if (path == nullptr)
    return {};
  std::error_code ec;
  auto p = std::filesystem::weakly_canonical(path, ec);
  return ec ? std::string{path} : p.string();
}

std::atomic<uint64_t> instances{0};

} // namespace

struct fault_io::state {
  std::mutex mutex;
  sqlite3_vfs vfs{};
  std::string name;
  sqlite3_vfs* real = nullptr;
  std::array<int, 5> failing{}; ///< by op; 0: not failing
  std::optional<uint64_t> free;
  bool crashed = false;
  uint64_t writes = 0;
  uint64_t crash_at = 0; ///< 0: never

  /// What each unsynced write or truncate of a file destroyed, oldest first.
  struct unsynced_file {
    int64_t synced_size = 0;
    std::vector<std::pair<int64_t, std::string>> undo;
  };
  std::map<std::string, unsynced_file> unsynced;

  int failing_code(op o) const { return failing[static_cast<size_t>(o)]; }

  /// Puts back what unsynced writes overwrote and cuts files to their synced size.
  void lose_unsynced() {
    for (auto& [path, f] : unsynced) {
      int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0)
        continue; // deleted since
      for (auto it = f.undo.rbegin(); it != f.undo.rend(); ++it)
        (void)!::pwrite(fd, it->second.data(), it->second.size(), it->first);
      (void)!::ftruncate(fd, f.synced_size);
      ::close(fd);
    }
    unsynced.clear();
  }

  void crash_now() {
    if (crashed)
      return;
    crashed = true;
    lose_unsynced();
  }
};

namespace {

using state = fault_io::state;

/// A file opened through the fault VFS: our header, then the real VFS's file.
struct fault_file {
  sqlite3_file base;
  state* st;
  std::string* path;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};

fault_file* as_fault(sqlite3_file* f) {
  return reinterpret_cast<fault_file*>(f);
}

/// Before a write or truncate: remembers what [offset, offset + n) holds now. Under st->mutex.
void remember(fault_file* f, int64_t offset, int64_t n) {
  auto& u = f->st->unsynced;
  auto it = u.find(*f->path);
  sqlite3_int64 size = 0;
  f->real()->pMethods->xFileSize(f->real(), &size);
  if (it == u.end())
    it = u.emplace(*f->path, state::unsynced_file{size, {}}).first;
  if (offset >= size)
    return; // beyond the end: the truncate to the synced size takes it back
  std::string old(static_cast<size_t>(std::min<int64_t>(n, size - offset)), '\0');
  f->real()->pMethods->xRead(f->real(), old.data(), static_cast<int>(old.size()), offset);
  it->second.undo.emplace_back(offset, std::move(old));
}

int x_close(sqlite3_file* file) {
  auto* f = as_fault(file);
  int rc = f->real()->pMethods->xClose(f->real());
  delete f->path;
  return rc;
}

int x_read(sqlite3_file* file, void* buf, int n, sqlite3_int64 offset) {
  auto* f = as_fault(file);
  {
    std::lock_guard<std::mutex> guard{f->st->mutex};
    if (int code = f->st->failing_code(fault_io::op::read))
      return code;
  }
  return f->real()->pMethods->xRead(f->real(), buf, n, offset);
}

int x_write(sqlite3_file* file, const void* buf, int n, sqlite3_int64 offset) {
  auto* f = as_fault(file);
  std::lock_guard<std::mutex> guard{f->st->mutex};
  auto& st = *f->st;
  if (!st.crashed && st.crash_at != 0 && st.writes + 1 >= st.crash_at)
    st.crash_now();
  if (st.crashed)
    return SQLITE_IOERR_WRITE;
  if (int code = st.failing_code(fault_io::op::write))
    return code;
  ++st.writes;
  remember(f, offset, n);
  return f->real()->pMethods->xWrite(f->real(), buf, n, offset);
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  auto* f = as_fault(file);
  std::lock_guard<std::mutex> guard{f->st->mutex};
  if (f->st->crashed)
    return SQLITE_IOERR_TRUNCATE;
  if (int code = f->st->failing_code(fault_io::op::truncate))
    return code;
  sqlite3_int64 now = 0;
  f->real()->pMethods->xFileSize(f->real(), &now);
  if (size < now)
    remember(f, size, now - size);
  return f->real()->pMethods->xTruncate(f->real(), size);
}

int x_sync(sqlite3_file* file, int flags) {
  auto* f = as_fault(file);
  std::lock_guard<std::mutex> guard{f->st->mutex};
  if (f->st->crashed)
    return SQLITE_IOERR_FSYNC;
  if (f->st->failing_code(fault_io::op::sync))
    return SQLITE_IOERR_FSYNC;
  int rc = f->real()->pMethods->xSync(f->real(), flags);
  if (rc == SQLITE_OK)
    f->st->unsynced.erase(*f->path);
  return rc;
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  auto* f = as_fault(file);
  return f->real()->pMethods->xFileSize(f->real(), size);
}
int x_lock(sqlite3_file* file, int level) {
  auto* f = as_fault(file);
  return f->real()->pMethods->xLock(f->real(), level);
}
int x_unlock(sqlite3_file* file, int level) {
  auto* f = as_fault(file);
  return f->real()->pMethods->xUnlock(f->real(), level);
}
int x_check_reserved(sqlite3_file* file, int* out) {
  auto* f = as_fault(file);
  return f->real()->pMethods->xCheckReservedLock(f->real(), out);
}
int x_file_control(sqlite3_file* file, int op, void* arg) {
  auto* f = as_fault(file);
  return f->real()->pMethods->xFileControl(f->real(), op, arg);
}
int x_sector_size(sqlite3_file* file) {
  auto* f = as_fault(file);
  return f->real()->pMethods->xSectorSize(f->real());
}
int x_device(sqlite3_file* file) {
  auto* f = as_fault(file);
  return f->real()->pMethods->xDeviceCharacteristics(f->real());
}
int x_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  auto* f = as_fault(file);
  return f->real()->pMethods->xShmMap(f->real(), region, size, extend, out);
}
int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  auto* f = as_fault(file);
  return f->real()->pMethods->xShmLock(f->real(), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* file) {
  auto* f = as_fault(file);
  f->real()->pMethods->xShmBarrier(f->real());
}
int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  auto* f = as_fault(file);
  return f->real()->pMethods->xShmUnmap(f->real(), delete_flag);
}
int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int n, void** out) {
  auto* f = as_fault(file);
  return f->real()->pMethods->xFetch(f->real(), offset, n, out);
}
int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* p) {
  auto* f = as_fault(file);
  return f->real()->pMethods->xUnfetch(f->real(), offset, p);
}

const sqlite3_io_methods fault_methods = {
    3,           x_close,   x_read,     x_write,          x_truncate,     x_sync,
    x_file_size, x_lock,    x_unlock,   x_check_reserved, x_file_control, x_sector_size,
    x_device,    x_shm_map, x_shm_lock, x_shm_barrier,    x_shm_unmap,    x_fetch,
    x_unfetch,
};

state* state_of(sqlite3_vfs* vfs) {
  return static_cast<state*>(vfs->pAppData);
}

int x_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* st = state_of(vfs);
  auto* f = as_fault(file);
  f->base.pMethods = nullptr;
  {
    std::lock_guard<std::mutex> guard{st->mutex};
    if (st->crashed)
      return SQLITE_CANTOPEN;
    if (int code = st->failing_code(fault_io::op::open))
      return code;
  }
  int rc = st->real->xOpen(st->real, name, f->real(), flags, out_flags);
  if (rc != SQLITE_OK)
    return rc;
  f->st = st;
  f->path = new std::string(canonical(name));
  f->base.pMethods = &fault_methods;
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  auto* st = state_of(vfs);
  {
    std::lock_guard<std::mutex> guard{st->mutex};
    if (st->crashed)
      return SQLITE_IOERR_DELETE;
    st->unsynced.erase(canonical(name));
  }
  return st->real->xDelete(st->real, name, sync_dir);
}

int x_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return state_of(vfs)->real->xAccess(state_of(vfs)->real, name, flags, out);
}
int x_full_pathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return state_of(vfs)->real->xFullPathname(state_of(vfs)->real, name, n, out);
}
void* x_dl_open(sqlite3_vfs* vfs, const char* name) {
  return state_of(vfs)->real->xDlOpen(state_of(vfs)->real, name);
}
void x_dl_error(sqlite3_vfs* vfs, int n, char* out) {
  state_of(vfs)->real->xDlError(state_of(vfs)->real, n, out);
}
void (*x_dl_sym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return state_of(vfs)->real->xDlSym(state_of(vfs)->real, handle, symbol);
}
void x_dl_close(sqlite3_vfs* vfs, void* handle) {
  state_of(vfs)->real->xDlClose(state_of(vfs)->real, handle);
}
int x_randomness(sqlite3_vfs* vfs, int n, char* out) {
  return state_of(vfs)->real->xRandomness(state_of(vfs)->real, n, out);
}
int x_sleep(sqlite3_vfs* vfs, int us) {
  return state_of(vfs)->real->xSleep(state_of(vfs)->real, us);
}
int x_current_time(sqlite3_vfs* vfs, double* out) {
  return state_of(vfs)->real->xCurrentTime(state_of(vfs)->real, out);
}
int x_last_error(sqlite3_vfs* vfs, int n, char* out) {
  return state_of(vfs)->real->xGetLastError(state_of(vfs)->real, n, out);
}
int x_current_time_64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return state_of(vfs)->real->xCurrentTimeInt64(state_of(vfs)->real, out);
}

} // namespace

fault_io::fault_io() : state_(std::make_unique<state>()) {
  auto& st = *state_;
  st.real = sqlite3_vfs_find(nullptr);
  st.name = "mailroom-fault-" + std::to_string(++instances);
  auto& v = st.vfs;
  v.iVersion = 2;
  v.szOsFile = static_cast<int>(sizeof(fault_file)) + st.real->szOsFile;
  v.mxPathname = st.real->mxPathname;
  v.zName = st.name.c_str();
  v.pAppData = &st;
  v.xOpen = x_open;
  v.xDelete = x_delete;
  v.xAccess = x_access;
  v.xFullPathname = x_full_pathname;
  v.xDlOpen = x_dl_open;
  v.xDlError = x_dl_error;
  v.xDlSym = x_dl_sym;
  v.xDlClose = x_dl_close;
  v.xRandomness = x_randomness;
  v.xSleep = x_sleep;
  v.xCurrentTime = x_current_time;
  v.xGetLastError = x_last_error;
  v.xCurrentTimeInt64 = x_current_time_64;
  sqlite3_vfs_register(&v, 0);
}

fault_io::~fault_io() {
  sqlite3_vfs_unregister(&state_->vfs);
}

const char* fault_io::vfs() const {
  return state_->name.c_str();
}

int fault_io::sync(int fd, const std::string& path) {
  std::lock_guard<std::mutex> guard{state_->mutex};
  if (state_->crashed || state_->failing_code(op::sync))
    return EIO;
  if (::fdatasync(fd) != 0)
    return errno;
  state_->unsynced.erase(canonical(path.c_str()));
  return 0;
}

std::optional<uint64_t> fault_io::free_bytes(const std::string& dir) {
  {
    std::lock_guard<std::mutex> guard{state_->mutex};
    if (state_->free)
      return state_->free;
  }
  return journal_io::free_bytes(dir);
}

void fault_io::fail(op o, int code) {
  std::lock_guard<std::mutex> guard{state_->mutex};
  state_->failing[static_cast<size_t>(o)] = code;
}

void fault_io::heal(op o) {
  fail(o, 0);
}

void fault_io::set_free_bytes(std::optional<uint64_t> bytes) {
  std::lock_guard<std::mutex> guard{state_->mutex};
  state_->free = bytes;
}

void fault_io::crash() {
  std::lock_guard<std::mutex> guard{state_->mutex};
  state_->crash_now();
}

void fault_io::crash_at_write(uint64_t n) {
  std::lock_guard<std::mutex> guard{state_->mutex};
  state_->crash_at = n;
}

bool fault_io::crashed() const {
  std::lock_guard<std::mutex> guard{state_->mutex};
  return state_->crashed;
}

uint64_t fault_io::writes() const {
  std::lock_guard<std::mutex> guard{state_->mutex};
  return state_->writes;
}

} // namespace mailroom
