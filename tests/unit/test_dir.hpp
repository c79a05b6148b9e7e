// A fresh directory under the system temp dir, removed when the test ends.
#pragma once

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace mailroom::test {

class test_dir {
public:
  test_dir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("mailroom-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~test_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  test_dir(const test_dir&) = delete;
  test_dir& operator=(const test_dir&) = delete;

  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  /// Writes `text` to the file `name` in this directory and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    auto path = file(name);
    std::ofstream{path, std::ios::binary} << text;
    return path;
  }

private:
  std::filesystem::path path_;
};

} // namespace mailroom::test
