// Waiting for work a node does on its own after a call returns (a sink journaling what a queue
// let go, a saga manager taking a reply). Never for a timer: timers fire only when a test
// advances its virtual clock.
#pragma once

#include <chrono>
#include <thread>

namespace mailroom::test {

/// Polls `f` until it holds or ~5 s pass.
template <class F>
bool eventually(F f) {
  for (int i = 0; i < 500; ++i) {
    if (f())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

} // namespace mailroom::test
