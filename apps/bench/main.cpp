// mailroom-bench: a load generator in the style of `nats bench` and RabbitMQ PerfTest.
//
//   mailroom-bench queue [--producers N] [--consumers N] [--size BYTES] [--messages N]
//                        [--durable | --no-durable] [--embedded | --node HOST:PORT] [--json]
//                        [--dedup] [--rate N] [--batch N] [--consume-rate N] [--duration S]
//                        [--http HOST:PORT]  (the SQS HTTP API; --batch at most 10)
//   mailroom-bench fanout --subscribers N ...   (embedded: 1 topic → N queues, --consumers each)
//   mailroom-bench service [--messages N] [--batch N] [--in-flight N]
//                       (embedded: a transactional service updates one row and sends one message
//                       per message, like example-ledger-service; latency = send to its receipt)
//   mailroom-bench saga [--messages SAGAS] [--batch SAGAS_PER_START] [--in-flight BATCHES]
//                       (embedded: 3-step sagas, services in the node; msgs/s = completed sagas,
//                       latency = start to COMPLETED)
//
// Prints progress on stderr every second, then msgs/s and end-to-end latency percentiles; with
// --json the last line is one summary object. msgs/s counts deliveries: in fanout, each message
// counts once per subscriber queue it was consumed from.
#include "bench.hpp"

#include "journal.hpp"
#include "mailroom/ids.hpp"
#include "mailroom/node.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

using namespace mailroom::bench;

namespace {

uint32_t percentile(std::vector<uint32_t>& xs, double p) {
  if (xs.empty())
    return 0;
  auto k = static_cast<size_t>(p * static_cast<double>(xs.size() - 1));
  std::nth_element(xs.begin(), xs.begin() + static_cast<std::ptrdiff_t>(k), xs.end());
  return xs[k];
}

} // namespace

namespace mailroom::bench {

void print_journal_stats(node& n) {
  auto js = n.journal_internal().stats();
  std::fprintf(stderr, "  journal: %llu commits, %llu batches, %llu ops\n",
               static_cast<unsigned long long>(js.commits),
               static_cast<unsigned long long>(js.batches),
               static_cast<unsigned long long>(js.ops));
}

std::string make_body(uint32_t size) {
  std::string body(size, 'x');
  for (uint32_t i = 0; i < size; ++i)
    body[i] = static_cast<char>('a' + i % 26);
  return body;
}

} // namespace mailroom::bench

int main(int argc, char** argv) {
  CLI::App app{"mailroom-bench: load generator for Mailroom"};
  options o;
  bool embedded = false, no_durable = false;
  app.add_option("scenario", o.scenario, "scenario: queue, fanout, saga or service")
      ->required()
      ->check(CLI::IsMember({"queue", "fanout", "saga", "service"}));
  app.add_option("--subscribers", o.subscribers, "fanout: subscriber queues")
      ->check(CLI::Range(1, 1000));
  app.add_option("--queues", o.queues,
                 "queue, embedded: queues bench-0..N-1, batches sent round robin, --consumers each")
      ->check(CLI::Range(1, 100000));
  app.add_flag("--dedup", o.dedup, "give every message its own dedup id");
  app.add_flag("--trace", o.trace, "embedded node with [node] trace = true");
  app.add_option("--producers", o.producers,
                 "producers (0 with --node: drain the queue a fill left)")
      ->check(CLI::Range(0, 64));
  app.add_option("--consumers", o.consumers,
                 "consumers (0 with --node: fill the queue and leave it)")
      ->check(CLI::Range(0, 64));
  app.add_option("--size", o.size, "body bytes")->check(CLI::Range(0, 1 << 20));
  app.add_option("--messages", o.messages, "messages in all")->check(CLI::Range(1ull, 1ull << 40));
  app.add_option("--batch", o.batch, "messages per call")->check(CLI::Range(1, 10000));
  app.add_option("--in-flight", o.in_flight, "send calls outstanding per producer")
      ->check(CLI::Range(1, 1024));
  app.add_option("--receives-in-flight", o.receives_in_flight,
                 "receive calls outstanding per consumer")
      ->check(CLI::Range(1, 64));
  app.add_option("--rate", o.rate, "send at this many msgs/s (embedded only; 0: flat out)");
  app.add_option("--consume-rate", o.consume_rate,
                 "consume at most this many msgs/s (--node only; 0: flat out)");
  app.add_option("--duration", o.duration_s,
                 "--node: stop after this many seconds (--messages is then a cap)")
      ->check(CLI::Range(0.0, 86400.0));
  auto durable = app.add_flag("--durable", o.durable, "fsync every group commit (default)");
  app.add_flag("--no-durable", no_durable, "no fsync")->excludes(durable);
  auto node = app.add_option("--node", o.node, "HOST:PORT of a running node");
  auto http = app.add_option("--http", o.http,
                             "HOST:PORT of a running node's SQS HTTP API (queue scenario; batches "
                             "of at most 10)")
                  ->excludes(node);
  app.add_option("--sign", o.sign,
                 "--http: ACCESS_KEY:SECRET to sign every request with (the node's [http] auth "
                 "= \"sigv4\"); default: unsigned")
      ->needs(http);
  app.add_flag("--embedded", embedded, "run a node in this process (default)")
      ->excludes(node)
      ->excludes(http);
  app.add_flag("--json", o.json, "print a JSON summary as the last line");
  app.add_option("--queue-cache", o.queue_cache,
                 "embedded node: [node] queue_cache bytes (0: its default)");
  app.add_option("--workers", o.workers, "embedded node: scheduler threads (0: its default)")
      ->check(CLI::Range(0, 64));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  if (no_durable)
    o.durable = false;
  if (!o.http.empty()) {
    if (o.scenario != "queue" || o.dedup || o.batch > 10 || o.producers == 0 || o.consumers == 0) {
      std::cerr << "mailroom-bench: --http runs the queue scenario with producers and consumers "
                   "and --batch of at most 10 (SQS's limit)\n";
      return 1;
    }
    o.node = o.http; // the checks below treat it as a running node
  }
  if (!o.node.empty() && (o.scenario != "queue" || o.dedup)) {
    std::cerr << "mailroom-bench: fanout, saga, service and --dedup are only supported with "
                 "--embedded so "
                 "far\n";
    return 1;
  }
  if ((o.producers == 0 || o.consumers == 0) && (o.node.empty() || o.producers == o.consumers)) {
    std::cerr << "mailroom-bench: --producers 0 (drain) or --consumers 0 (fill) needs --node, "
                 "and not both\n";
    return 1;
  }
  if (o.queues > 1 && (o.scenario != "queue" || !o.node.empty())) {
    std::cerr << "mailroom-bench: --queues is only supported with the embedded queue scenario\n";
    return 1;
  }
  if (o.rate > 0 && !o.node.empty()) {
    std::cerr << "mailroom-bench: --rate is only supported with --embedded so far\n";
    return 1;
  }
  if ((o.consume_rate > 0 || o.duration_s > 0) && o.node.empty()) {
    std::cerr << "mailroom-bench: --consume-rate and --duration need --node\n";
    return 1;
  }

  progress p;
  std::string error;
  auto start = std::chrono::steady_clock::now();
  std::thread runner([&] {
    error = o.scenario == "saga"      ? run_saga(o, p)
            : o.scenario == "service" ? run_service(o, p)
            : !o.http.empty()         ? run_http(o, p)
            : o.node.empty()          ? run_embedded(o, p)
                                      : run_remote(o, p);
  });
  std::atomic<bool> finished{false};
  std::thread reporter([&] {
    uint64_t last = 0;
    while (!finished) {
      for (int i = 0; i < 10 && !finished; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (finished)
        break;
      auto now = p.received.load();
      std::fprintf(stderr, "  sent %llu, received %llu (%llu msgs/s)\n",
                   static_cast<unsigned long long>(p.sent.load()),
                   static_cast<unsigned long long>(now),
                   static_cast<unsigned long long>(now - last));
      last = now;
    }
  });
  runner.join();
  if (auto started = p.started_ns.load(); started != 0)
    start = std::chrono::steady_clock::time_point{std::chrono::steady_clock::duration{started}};
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  finished = true;
  reporter.join();
  if (!error.empty()) {
    std::cerr << "mailroom-bench: " << error << "\n";
    return 2;
  }

  auto& lat = p.latencies_us;
  // A fill counts what it sent; every other run what was delivered.
  auto done = o.consumers == 0 ? p.sent.load() : p.received.load();
  auto rate = static_cast<double>(done) / seconds;
  auto p50 = percentile(lat, 0.50), p99 = percentile(lat, 0.99), p999 = percentile(lat, 0.999);
  std::printf("%s: %llu deliveries of %u bytes, %u producer(s), %u consumer(s)%s%s, %s, %s\n",
              o.scenario.c_str(), static_cast<unsigned long long>(done), o.size, o.producers,
              o.consumers,
              o.scenario == "fanout"
                  ? (" per queue, " + std::to_string(o.subscribers) + " subscriber queues").c_str()
                  : "",
              o.dedup ? ", dedup ids" : "", o.durable ? "durable" : "not durable",
              o.node.empty()   ? "embedded"
              : o.http.empty() ? ("node " + o.node).c_str()
                               : ("HTTP API " + o.http).c_str());
  std::printf("%.0f msgs/s in %.2f s; end-to-end latency p50 %u us, p99 %u us, p99.9 %u us\n", rate,
              seconds, p50, p99, p999);
  if (o.json) {
    nlohmann::json summary = {
        {"scenario", o.scenario},
        {"messages", done},
        {"seconds", seconds},
        {"msgs_per_s", rate},
        {"p50_us", p50},
        {"p99_us", p99},
        {"p999_us", p999},
        {"producers", o.producers},
        {"consumers", o.consumers},
        {"size", o.size},
        {"durable", o.durable},
        {"mode", o.node.empty()   ? "embedded"
                 : o.http.empty() ? "node"
                                  : "http"},
        {"batch", o.batch},
        {"rate", o.rate},
        {"queues", o.queues},
        {"sent", p.sent.load()},
        {"received", p.received.load()},
        {"consume_rate", o.consume_rate},
        {"duration_s", o.duration_s},
        {"dedup", o.dedup},
        {"trace", o.trace},
        {"workers", o.workers},
    };
    if (o.scenario == "fanout")
      summary["subscribers"] = o.subscribers;
    std::cout << summary.dump() << std::endl;
  }
  return 0;
}
