#include "endpoint_listener.hpp"

#include "connection_guard.hpp"
#include "log_throttle.hpp"

#include <capnp/rpc-twoparty.h>
#include <kj/debug.h>
#include <spdlog/spdlog.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <map>
#include <climits>

namespace mailroom {

namespace {

constexpr int64_t log_interval_ms = 10'000;

/// "127.0.0.1:53122" or "[::1]:53122" for a connection's peer.
std::string peer_of(kj::AsyncIoStream& stream) {
  sockaddr_storage addr{};
  uint len = sizeof(addr);
  try {
    stream.getpeername(reinterpret_cast<sockaddr*>(&addr), &len);
  } catch (const kj::Exception&) {
    return "unknown peer";
  }
  char host[INET6_ADDRSTRLEN] = "?";
  if (addr.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    return std::string{host} + ":" + std::to_string(ntohs(in->sin_port));
  }
  if (addr.ss_family == AF_INET6) {
    auto* in = reinterpret_cast<sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof(host));
    return "[" + std::string{host} + "]:" + std::to_string(ntohs(in->sin6_port));
  }
  return "local peer";
}

/// What a throttled log line adds about the lines it stands for.
std::string also(uint64_t suppressed) {
  return suppressed == 0 ? ""
                         : " (and " + std::to_string(suppressed) + " more since the last report)";
}

int64_t now_ms(kj::Timer& timer) {
  return (timer.now() - kj::origin<kj::TimePoint>()) / kj::MILLISECONDS;
}

/// One client connection's bookkeeping, shared by its stream wrapper, its call counter and
/// its watchdog. `close` ends the connection's task (and so the connection) with a reason.
struct connection_state {
  connection_state(connection_limits limits, std::shared_ptr<frame_budget> budget, int64_t now,
                   std::string peer_name)
      : guard(limits, std::move(budget), now), peer(std::move(peer_name)) {}
  connection_guard guard;
  std::string peer;
  kj::Own<kj::PromiseFulfiller<closing>> close;
};

/// The client's byte stream as capnp reads it, passed through the guard: a frame the guard
/// refuses fails the read, and so the connection, before capnp allocates for it.
class guarded_stream final : public kj::AsyncIoStream {
public:
  guarded_stream(kj::Own<kj::AsyncIoStream> inner, std::shared_ptr<connection_state> state,
                 kj::Timer& timer)
      : inner_(kj::mv(inner)), state_(std::move(state)), timer_(timer) {}

  kj::Promise<size_t> tryRead(void* buffer, size_t min_bytes, size_t max_bytes) override {
    return inner_->tryRead(buffer, min_bytes, max_bytes).then([this, buffer](size_t n) {
      if (auto refused = state_->guard.on_read(buffer, n, now_ms(timer_))) {
        if (state_->close->isWaiting())
          state_->close->fulfill(kj::mv(*refused));
        KJ_FAIL_REQUIRE("connection closed by the endpoint's limits");
      }
      return n;
    });
  }
  kj::Promise<void> write(const void* buffer, size_t size) override {
    state_->guard.on_write(now_ms(timer_));
    return inner_->write(buffer, size);
  }
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override {
    state_->guard.on_write(now_ms(timer_));
    return inner_->write(pieces);
  }
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override { inner_->shutdownWrite(); }
  void abortRead() override { inner_->abortRead(); }
  void getsockopt(int level, int option, void* value, uint* length) override {
    inner_->getsockopt(level, option, value, length);
  }
  void setsockopt(int level, int option, const void* value, uint length) override {
    inner_->setsockopt(level, option, value, length);
  }
  void getsockname(struct sockaddr* addr, uint* length) override {
    inner_->getsockname(addr, length);
  }
  void getpeername(struct sockaddr* addr, uint* length) override {
    inner_->getpeername(addr, length);
  }

private:
  kj::Own<kj::AsyncIoStream> inner_;
  std::shared_ptr<connection_state> state_;
  kj::Timer& timer_;
};

/// Counts the connection's calls in flight, so that a client waiting on a long poll is not
/// taken for an idle one.
class call_counter final : public capnp::Capability::Server {
public:
  call_counter(kj::Own<capnp::Capability::Server> inner, std::shared_ptr<connection_state> state,
               kj::Timer& timer)
      : inner_(kj::mv(inner)), state_(std::move(state)), timer_(timer) {}

  DispatchCallResult
  dispatchCall(uint64_t interface_id, uint16_t method_id,
               capnp::CallContext<capnp::AnyPointer, capnp::AnyPointer> context) override {
    state_->guard.call_started();
    auto finished =
        kj::defer([state = state_, &timer = timer_] { state->guard.call_finished(now_ms(timer)); });
    auto result = inner_->dispatchCall(interface_id, method_id, context);
    result.promise = result.promise.attach(kj::mv(finished));
    return result;
  }

private:
  kj::Own<capnp::Capability::Server> inner_;
  std::shared_ptr<connection_state> state_;
  kj::Timer& timer_;
};

/// A served connection: the guarded stream, the two-party network over it and its RPC system.
struct connection {
  connection(kj::Own<kj::AsyncIoStream> raw, std::shared_ptr<connection_state> state,
             kj::Timer& timer, capnp::ReaderOptions options,
             kj::Own<capnp::Capability::Server> server)
      : stream(kj::mv(raw), state, timer),
        network(stream, capnp::rpc::twoparty::Side::SERVER, options),
        rpc(capnp::makeRpcServer(network, capnp::Capability::Client(kj::heap<call_counter>(
                                              kj::mv(server), state, timer)))) {}
  guarded_stream stream;
  capnp::TwoPartyVatNetwork network;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc;
};

} // namespace

struct endpoint_listener::impl final : kj::TaskSet::ErrorHandler {
  impl(std::string name_, kj::Timer& timer_, kj::ConnectionReceiver& receiver_,
       endpoint_limits limits_, server_factory make_server_)
      : name(std::move(name_)), timer(timer_), receiver(receiver_), limits(limits_),
        make_server(std::move(make_server_)),
        budget(std::make_shared<frame_budget>(limits.max_incomplete_frame_bytes)), tasks(*this) {}

  std::string name;
  kj::Timer& timer;
  kj::ConnectionReceiver& receiver;
  endpoint_limits limits;
  server_factory make_server;
  std::shared_ptr<frame_budget> budget;
  uint32_t open = 0;
  int64_t backoff_ms = 0;
  log_throttle accept_errors{log_interval_ms};
  log_throttle refusals{log_interval_ms};
  std::map<std::string, log_throttle> closes; // by the limit reached
  kj::TaskSet tasks;                          // last: destroyed first, while the rest is alive

  void taskFailed(kj::Exception&& e) override {
    spdlog::debug("{}: connection ended: {}", name, e.getDescription().cStr());
  }

  kj::Promise<void> accept_loop() {
    // evalNow: kj's accept() throws EMFILE synchronously, not through the promise.
    return kj::evalNow([this] { return receiver.accept(); })
        .then(
            [this](kj::Own<kj::AsyncIoStream> stream) {
              backoff_ms = 0;
              admit(kj::mv(stream));
              return accept_loop();
            },
            [this](kj::Exception&& e) {
              backoff_ms = std::clamp<int64_t>(backoff_ms * 2, 10, 1000);
              if (auto suppressed = accept_errors.event(now_ms(timer)))
                spdlog::error("{}: accept failed{}: {}; retrying after {} ms, backing off to 1 s",
                              name, also(*suppressed), e.getDescription().cStr(), backoff_ms);
              return timer.afterDelay(backoff_ms * kj::MILLISECONDS).then([this] {
                return accept_loop();
              });
            });
  }

  void admit(kj::Own<kj::AsyncIoStream> stream) {
    if (open >= limits.max_connections) {
      if (auto suppressed = refusals.event(now_ms(timer)))
        spdlog::warn("{}: refused a connection from {}{}: {} are open, the limit ([node] "
                     "max_connections)",
                     name, peer_of(*stream), also(*suppressed), open);
      return; // dropping the stream closes it: the client sees the connection end
    }
    connection_limits guard_limits{limits.max_frame_bytes, limits.frame_timeout_ms,
                                   limits.idle_timeout_ms};
    auto state =
        std::make_shared<connection_state>(guard_limits, budget, now_ms(timer), peer_of(*stream));
    auto closed = kj::newPromiseAndFulfiller<closing>();
    state->close = kj::mv(closed.fulfiller);
    capnp::ReaderOptions options;
    options.traversalLimitInWords = limits.max_frame_bytes / 8 + 1;
    auto conn = kj::heap<connection>(kj::mv(stream), state, timer, options, make_server());
    auto ended = conn->network.onDisconnect().then([] { return closing{}; });
    ++open;
    tasks.add(ended.exclusiveJoin(kj::mv(closed.promise))
                  .exclusiveJoin(watch(state))
                  .then([this, state](closing why) {
                    if (why.limit.empty())
                      return; // the client hung up
                    auto& throttle = closes.try_emplace(why.limit, log_interval_ms).first->second;
                    if (auto suppressed = throttle.event(now_ms(timer)))
                      spdlog::warn("{}: closed the connection from {}{}: {}", name, state->peer,
                                   also(*suppressed), why.reason);
                  })
                  .attach(kj::mv(conn), kj::defer([this] { --open; })));
  }

  /// Resolves with the reason once the connection passed its guard's deadline.
  kj::Promise<closing> watch(std::shared_ptr<connection_state> state) {
    auto deadline = state->guard.deadline_ms();
    auto now = now_ms(timer);
    // Wake at the deadline, and at least once per frame timeout: a frame that starts after
    // this look is then seen before its own deadline, which is a frame timeout after its start.
    auto wait = std::clamp<int64_t>(deadline == INT64_MAX ? INT64_MAX : deadline - now, 1,
                                    limits.frame_timeout_ms);
    return timer.afterDelay(wait * kj::MILLISECONDS).then([this, state]() -> kj::Promise<closing> {
      if (now_ms(timer) >= state->guard.deadline_ms())
        return state->guard.deadline_reason();
      return watch(state);
    });
  }
};

endpoint_listener::endpoint_listener(std::string name, kj::Timer& timer,
                                     kj::ConnectionReceiver& receiver, endpoint_limits limits,
                                     server_factory make_server)
    : impl_(std::make_unique<impl>(std::move(name), timer, receiver, limits,
                                   std::move(make_server))) {}

endpoint_listener::~endpoint_listener() = default;

kj::Promise<void> endpoint_listener::run() {
  return impl_->accept_loop();
}

uint32_t endpoint_listener::connections() const {
  return impl_->open;
}

uint64_t make_room_for_descriptors(uint64_t wanted) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return 0;
  if (limit.rlim_cur < wanted && limit.rlim_cur < limit.rlim_max) {
    auto raised = limit;
    raised.rlim_cur = std::min<rlim_t>(limit.rlim_max, wanted);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
      limit = raised;
  }
  if (limit.rlim_cur < wanted)
    spdlog::warn("open-file limit is {} (ulimit -n), fewer than the {} that max_connections needs "
                 "with the journal's: accepts fail and are retried while it is reached",
                 limit.rlim_cur, wanted);
  return limit.rlim_cur;
}

} // namespace mailroom
