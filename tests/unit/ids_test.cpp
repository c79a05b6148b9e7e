// Message ids: unique across threads (each seeds its generator with 256 bits from getrandom).
#include "mailroom/ids.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

using namespace mailroom;

// Issue 9, bug 4: each thread's generator was seeded with one 32-bit random_device() value, and
// a thread is spawned per blocking RPC, so two threads' id streams could coincide.
TEST(ids, ids_made_on_many_short_lived_threads_never_repeat) {
  std::mutex mutex;
  std::unordered_set<std::string> seen;
  size_t made = 0;
  for (int round = 0; round < 8; ++round) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 32; ++t)
      threads.emplace_back([&] {
        std::vector<std::string> ids;
        for (int i = 0; i < 200; ++i)
          ids.push_back(new_message_id());
        std::lock_guard<std::mutex> guard{mutex};
        made += ids.size();
        seen.insert(ids.begin(), ids.end());
      });
    for (auto& t : threads)
      t.join();
  }
  EXPECT_EQ(seen.size(), made);
}

TEST(ids, a_message_id_is_a_version_7_uuid_that_sorts_by_time) {
  auto id = new_message_id();
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '7');
  auto later = new_message_id();
  // The first 48 bits are unix milliseconds: a later id never sorts before in them.
  EXPECT_LE(id.substr(0, 13), later.substr(0, 13));
  EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b') << id;
}
