#include "process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace mailroom::test {

uint16_t free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

node_process::node_process(std::string data_dir, std::vector<std::string> extra_args,
                           std::string binary)
    : data_dir_(std::move(data_dir)), extra_args_(std::move(extra_args)),
      binary_(std::move(binary)), port_(free_port()) {
  start();
}

node_process::~node_process() {
  if (pid_ > 0)
    kill_hard();
}

void node_process::start() {
  std::vector<std::string> args = {binary_,   "--data",      data_dir_, "--listen",
                                   address(), "--log-level", "info"};
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  // mailroomd's embedded default serves HTTP on a fixed port; tests that want it say where.
  bool is_mailroomd =
      binary_.size() >= 9 && binary_.compare(binary_.size() - 9, 9, "mailroomd") == 0;
  if (is_mailroomd && std::find(args.begin(), args.end(), "--http") == args.end())
    args.insert(args.end(), {"--http", ""});
  pid_ = ::fork();
  if (pid_ == 0) {
    int log = ::open(log_file().c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(log, 1);
    ::dup2(log, 2);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  if (!eventually([&] {
        auto c = connect();
        return c && c->list_queues();
      }))
    throw std::runtime_error(binary_ + " did not come up; see " + log_file());
}

void node_process::kill_hard() {
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

int node_process::stop() {
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::unique_ptr<client> node_process::connect() const {
  auto c = client::connect(address());
  return c ? std::move(*c) : nullptr;
}

std::string read_text(const std::string& path) {
  std::ifstream in{path};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

run_result run(const std::vector<std::string>& args, const std::string& input) {
  char out_path[] = "/tmp/mailroom-run-out-XXXXXX";
  char err_path[] = "/tmp/mailroom-run-err-XXXXXX";
  char in_path[] = "/tmp/mailroom-run-in-XXXXXX";
  int out = ::mkstemp(out_path), err = ::mkstemp(err_path), in = ::mkstemp(in_path);
  if (::write(in, input.data(), input.size()) < 0)
    throw std::runtime_error("cannot write stdin file");
  ::lseek(in, 0, SEEK_SET);
  auto pid = ::fork();
  if (pid == 0) {
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(out);
  ::close(err);
  ::close(in);
  run_result r{WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
               read_text(out_path), read_text(err_path)};
  ::unlink(out_path);
  ::unlink(err_path);
  ::unlink(in_path);
  return r;
}

} // namespace mailroom::test
