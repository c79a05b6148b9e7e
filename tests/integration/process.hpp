// Real mailroomd processes for integration tests: start, wait until it answers, SIGTERM or
// kill -9, restart on the same data directory.
#pragma once

#include "mailroom/client.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace mailroom::test {

/// A free loopback port (bound and released; good enough on a test machine).
uint16_t free_port();

/// Polls `condition` every 10 ms until it holds or `timeout` passes. Never a bare sleep.
bool eventually(const std::function<bool()>& condition,
                std::chrono::milliseconds timeout = std::chrono::seconds(15));

class node_process {
public:
  /// Starts mailroomd (or `binary`, which takes the same --data/--listen/--log-level options)
  /// on `data_dir` and a free port; waits until the endpoint answers.
  explicit node_process(std::string data_dir, std::vector<std::string> extra_args = {},
                        std::string binary = MAILROOMD_PATH);
  ~node_process(); // SIGKILL if still running

  void start();
  /// kill -9: no chance to flush anything.
  void kill_hard();
  /// SIGTERM and wait; returns the exit status.
  int stop();

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::unique_ptr<client> connect() const;
  std::string log_file() const { return data_dir_ + "/mailroomd.log"; }

private:
  std::string data_dir_;
  std::vector<std::string> extra_args_;
  std::string binary_;
  uint16_t port_;
  int pid_ = -1;
};

/// The whole of a file ("" if it cannot be read), e.g. a node's log.
std::string read_text(const std::string& path);

/// Runs a command, returning its exit code and what it printed on stdout and stderr.
struct run_result {
  int exit_code;
  std::string out;
  std::string err;
};
run_result run(const std::vector<std::string>& argv, const std::string& input = {});

} // namespace mailroom::test
