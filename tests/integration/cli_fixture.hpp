// The `mailroom` CLI against a real mailroomd in a fresh data directory: run a command, read its
// --json lines.
#pragma once

#include "../unit/test_dir.hpp"
#include "process.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace mailroom::test {

class cli_test : public ::testing::Test {
protected:
  run_result mailroom(std::vector<std::string> args, const std::string& input = {}) {
    args.insert(args.begin(), {MAILROOM_CLI_PATH, "--node", node.address()});
    return run(args, input);
  }

  static std::vector<nlohmann::json> lines(const std::string& out) {
    std::vector<nlohmann::json> result;
    std::istringstream in{out};
    for (std::string line; std::getline(in, line);)
      result.push_back(nlohmann::json::parse(line));
    return result;
  }

  test_dir dir;
  node_process node{dir.path()};
};

} // namespace mailroom::test
