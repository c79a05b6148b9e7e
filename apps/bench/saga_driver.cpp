// mailroom-bench saga: 3-step sagas whose services run in the same node, durable. Producers
// start sagas in batches (--batch per call) and keep at most --in-flight batches unfinished
// each; msgs/s counts completed sagas, latency is each saga's start to its COMPLETED commit
// (read back from the journal afterwards, millisecond resolution).
#include "bench.hpp"

#include "mailroom/error.hpp"
#include "mailroom/node.hpp"
#include "mailroom/saga.hpp"

#include <thread>

namespace mailroom::bench {

namespace {

caf::error setup(node& n) {
  saga_builder builder{"bench", 1};
  for (int i = 1; i <= 3; ++i) {
    auto queue = "step-" + std::to_string(i);
    queue_config q;
    q.name = queue;
    q.visibility_timeout_ms = 60'000;
    if (auto err = n.create_queue(q))
      return err;
    builder.step("Step" + std::to_string(i))
        .to(queue)
        .command(R"({"order":{{order}},"step":)" + std::to_string(i) + "}")
        .compensation(R"({"undo":{{order}}})")
        .timeout(std::chrono::seconds(60));
  }
  auto definition = builder.build();
  if (!definition)
    return std::move(definition.error());
  if (auto err = n.put_saga(*definition))
    return err;
  for (int i = 1; i <= 3; ++i) {
    participant_options options;
    options.queue = "step-" + std::to_string(i);
    options.prefetch = 1'000;
    auto s =
        spawn_saga_participant(n, options, [](const saga_command&) { return step_result::ok(); });
    if (!s)
      return std::move(s.error());
  }
  return {};
}

} // namespace

std::string run_saga(const options& o, progress& p) {
  return with_temporary_node(o, [&](node& n) -> std::string {
    std::string error;
    if (auto err = setup(n))
      return message_of(err);
    std::atomic<bool> failed{false};
    std::atomic<uint64_t> completed{0};
    std::vector<std::thread> producers;
    uint64_t window = static_cast<uint64_t>(o.in_flight) * o.batch;
    for (uint32_t i = 0; i < o.producers; ++i) {
      auto quota = o.messages / o.producers + (i < o.messages % o.producers ? 1 : 0);
      producers.emplace_back([&, quota, i] {
        uint64_t started = 0;
        while (started < quota && !failed) {
          // Keep about `window` sagas per producer unfinished.
          while (p.sent.load() - completed.load() >= window * o.producers && !failed)
            std::this_thread::sleep_for(std::chrono::microseconds(200));
          auto count = std::min<uint64_t>(o.batch, quota - started);
          std::vector<std::string> data;
          data.reserve(count);
          for (uint64_t k = 0; k < count; ++k)
            data.push_back(R"({"order":")" + std::to_string(i) + "-" + std::to_string(started + k) +
                           "\"}");
          auto ids = n.start_sagas("bench", data);
          if (!ids) {
            error = message_of(ids.error());
            failed = true;
            return;
          }
          started += count;
          p.sent += count;
        }
      });
    }
    // The managers count finished sagas; poll them.
    while (!failed) {
      auto m = n.saga_statistics("bench");
      if (!m) {
        error = message_of(m.error());
        failed = true;
        break;
      }
      completed = m->completed + m->compensated;
      p.received = m->completed;
      if (completed >= o.messages)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    for (auto& t : producers)
      t.join();
    print_journal_stats(n);
    if (!failed) {
      auto m = n.saga_statistics("bench");
      if (m && m->compensated > 0)
        error = std::to_string(m->compensated) + " sagas compensated: a step failed";
      saga_filter filter;
      filter.definition = "bench";
      filter.status = saga_status::completed;
      filter.max = static_cast<uint32_t>(std::min<uint64_t>(o.messages, UINT32_MAX));
      auto done = n.sagas(filter);
      if (!done) {
        error = message_of(done.error());
      } else {
        std::vector<uint32_t> latencies;
        latencies.reserve(done->size());
        for (const auto& s : *done)
          latencies.push_back(static_cast<uint32_t>((s.updated_at_ms - s.started_at_ms) * 1000));
        p.add_latencies(latencies);
      }
    }
    return error;
  });
}

} // namespace mailroom::bench
