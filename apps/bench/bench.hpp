// mailroom-bench: shared pieces of the load generator.
#pragma once

#include <kj/exception.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace mailroom {
class node;
}

namespace mailroom::bench {

struct options {
  std::string scenario = "queue";
  uint32_t producers = 1;
  uint32_t consumers = 1;
  uint32_t size = 100;           ///< body bytes
  uint64_t messages = 1'000'000; ///< total, across producers
  bool durable = true;
  std::string node;                ///< empty: embedded
  std::string http;                ///< a node's SQS HTTP API instead (HOST:PORT)
  std::string sign;                ///< --http: KEY:SECRET signs every request (SigV4); empty: none
  uint32_t batch = 1000;           ///< messages per send / receive / ack call
  uint32_t in_flight = 4;          ///< send calls outstanding per producer
  uint32_t receives_in_flight = 4; ///< receive calls outstanding per consumer
  uint64_t rate = 0;               ///< msgs/s across producers; 0: as fast as possible
  uint64_t consume_rate = 0;       ///< --node: msgs/s across consumers; 0: as fast as possible
  double duration_s = 0;           ///< --node: stop sending and consuming after this; 0: never
  uint32_t subscribers = 10;       ///< fanout: queues subscribed to the topic
  uint32_t queues = 1;             ///< queue (embedded): producers spread batches over this many
  bool dedup = false;              ///< every message carries a dedup id of its own
  bool trace = false;              ///< the node journals every step (mailroom trace)
  uint32_t workers = 0;            ///< embedded node's scheduler threads; 0: the node's default
  size_t queue_cache = 0;          ///< embedded node's [node] queue_cache; 0: the node's default
  bool json = false;
};

/// What the drivers fill in while they run; read by the progress printer.
struct progress {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> received{0}; ///< deliveries acked (fanout: every subscriber's copy)
  std::atomic<bool> failed{false};
  /// steady_clock nanoseconds when the timed part began (after setup); 0: when the run did.
  std::atomic<int64_t> started_ns{0};

  void start_clock() { started_ns = std::chrono::steady_clock::now().time_since_epoch().count(); }
  std::mutex latencies_mutex;         // guards latencies_us
  std::vector<uint32_t> latencies_us; // end to end: producer stamp to consumer receipt

  void add_latencies(const std::vector<uint32_t>& batch) {
    std::lock_guard<std::mutex> guard{latencies_mutex};
    latencies_us.insert(latencies_us.end(), batch.begin(), batch.end());
  }
};

/// Guards the bodies of a driver's threads: the first exception's text (std or kj) is kept
/// and the run marked failed, so the other threads stop.
class first_error {
public:
  explicit first_error(progress& p) : p_(p) {}

  template <class F>
  std::function<void()> guard(F f) {
    return [this, f] {
      try {
        f();
      } catch (const std::exception& e) {
        note(e.what());
      } catch (const kj::Exception& e) {
        note(e.getDescription().cStr());
      }
    };
  }

  std::string text() {
    std::lock_guard<std::mutex> guard{mutex_};
    return text_;
  }

private:
  void note(const std::string& what) {
    std::lock_guard<std::mutex> guard{mutex_};
    if (text_.empty())
      text_ = what;
    p_.failed = true;
  }

  progress& p_;
  std::mutex mutex_;
  std::string text_;
};

/// Runs the scenario against an embedded node; returns an error text or "".
std::string run_embedded(const options& o, progress& p);
/// Runs the saga scenario (embedded, 3-step sagas); returns an error text or "".
std::string run_saga(const options& o, progress& p);
/// Runs the service scenario (embedded: a transactional service, one row and one send per
/// message); returns an error text or "".
std::string run_service(const options& o, progress& p);
/// Runs the scenario against a node's client endpoint; returns an error text or "".
std::string run_remote(const options& o, progress& p);
/// Runs the queue scenario through a node's SQS HTTP API (batches of at most 10); returns an
/// error text or "".
std::string run_http(const options& o, progress& p);

/// Opens an embedded node on a fresh temporary directory with the options' durability, trace and
/// worker threads, runs `run` on it, shuts the node down and removes the directory. Returns an
/// error text or "".
std::string with_temporary_node(const options& o, const std::function<std::string(node&)>& run);

/// Prints on stderr how many group commits, batches and operations the node's journal did.
void print_journal_stats(node& n);

/// A body of `size` bytes.
std::string make_body(uint32_t size);

} // namespace mailroom::bench
