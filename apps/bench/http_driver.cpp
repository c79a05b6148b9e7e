// The HTTP driver: the queue scenario through a node's SQS-compatible HTTP API, as an SDK
// would drive it: SendMessageBatch from producers, ReceiveMessage (long poll) and
// DeleteMessageBatch from consumers, unsigned (the node's [http] auth = "none") or signed with
// SigV4 as botocore signs (--sign KEY:SECRET), batches of at most 10 (SQS's limit). Each producer
// and consumer is a thread with its own kj event loop and
// --in-flight / --receives-in-flight keep-alive connections, one request in flight on each.
#include "bench.hpp"

#include "mailroom/aws/form.hpp"
#include "mailroom/aws/sigv4.hpp"
#include "mailroom/ids.hpp"

#include <kj/async-io.h>
#include <kj/compat/http.h>

#include <chrono>
#include <ctime>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mailroom::bench {

namespace {

using steady = std::chrono::steady_clock;

struct http_connection {
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<kj::HttpClient> client;
};

/// X-Amz-Date now: YYYYMMDD'T'HHMMSS'Z'.
std::string amz_date_now() {
  auto t = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char text[17];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

class http_session {
public:
  /// `sign`: "KEY:SECRET" to sign requests with; empty: unsigned.
  http_session(const std::string& address, const std::string& sign)
      : io_(kj::setupAsyncIo()), table_(kj::HttpHeaderTable::Builder().build()),
        address_(io_.provider->getNetwork().parseAddress(address).wait(io_.waitScope)),
        host_(address) {
    if (auto colon = sign.find(':'); colon != std::string::npos) {
      key_ = sign.substr(0, colon);
      secret_ = sign.substr(colon + 1);
    }
  }

  http_connection connect() {
    http_connection c;
    c.stream = address_->connect().wait(io_.waitScope);
    c.client = kj::newHttpClient(*table_, *c.stream);
    return c;
  }

  /// POSTs a form to "/" and resolves with the XML reply; anything but 200 throws with it.
  kj::Promise<std::string> post(http_connection& c, std::string form) {
    kj::HttpHeaders headers(*table_);
    headers.set(kj::HttpHeaderId::HOST, host_);
    headers.set(kj::HttpHeaderId::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if (!key_.empty()) {
      // What botocore signs for the query protocol: content-type, host and x-amz-date.
      auto date = amz_date_now();
      aws::sigv4_authorization scope{
          key_, date.substr(0, 8), "us-east-1", "sqs", {"content-type", "host", "x-amz-date"}, {}};
      aws::signed_request signed_parts{"POST",
                                       "/",
                                       "",
                                       {{"content-type", "application/x-www-form-urlencoded"},
                                        {"host", host_},
                                        {"x-amz-date", date}},
                                       form,
                                       date};
      auto signature = aws::sigv4_signature(scope, secret_, signed_parts);
      headers.add(kj::str("X-Amz-Date"), kj::str(date.c_str()));
      headers.add(kj::str("Authorization"),
                  kj::str("AWS4-HMAC-SHA256 Credential=", key_.c_str(), "/", scope.date.c_str(),
                          "/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;"
                          "x-amz-date, Signature=",
                          signature.c_str()));
    }
    auto body = kj::heapString(form.data(), form.size());
    auto request = c.client->request(kj::HttpMethod::POST, "/", headers, body.size());
    auto sent = request.body->write(body.begin(), body.size()).attach(kj::mv(body));
    return sent.attach(kj::mv(request.body))
        .then([response = kj::mv(request.response)]() mutable { return kj::mv(response); })
        .then([](kj::HttpClient::Response&& r) {
          auto status = r.statusCode;
          return r.body->readAllText().attach(kj::mv(r.body)).then([status](kj::String text) {
            std::string reply{text.cStr(), text.size()};
            if (status != 200)
              throw std::runtime_error("HTTP " + std::to_string(status) + ": " + reply);
            return reply;
          });
        });
  }

  kj::WaitScope& wait_scope() { return io_.waitScope; }
  const std::string& host() const { return host_; }

private:
  kj::AsyncIoContext io_;
  kj::Own<kj::HttpHeaderTable> table_;
  kj::Own<kj::NetworkAddress> address_;
  std::string host_;
  std::string key_, secret_;
};

/// The text of every <tag>…</tag> in `xml`, in order (the node's replies are flat and
/// unpretty; bodies here are digits and 'x', so no entity needs decoding).
std::vector<std::string> all_of(const std::string& xml, const std::string& tag) {
  std::vector<std::string> out;
  auto open = "<" + tag + ">", close = "</" + tag + ">";
  for (size_t at = xml.find(open); at != std::string::npos; at = xml.find(open, at)) {
    at += open.size();
    auto end = xml.find(close, at);
    out.push_back(xml.substr(at, end - at));
    at = end;
  }
  return out;
}

/// Sends batches on `c` until `left` (shared by the thread's connections) is taken.
kj::Promise<void> produce_on(http_session& s, http_connection& c, const options& o, progress& p,
                             std::atomic<uint64_t>& left, const std::string& queue_url,
                             steady::time_point deadline) {
  return kj::evalLater([&, queue_url, deadline]() -> kj::Promise<void> {
    uint64_t n = left.load();
    uint64_t mine = 0;
    while (n > 0) {
      mine = std::min<uint64_t>(n, o.batch);
      if (left.compare_exchange_weak(n, n - mine))
        break;
    }
    if (n == 0 || steady::now() >= deadline)
      return kj::READY_NOW;
    std::string form =
        "Action=SendMessageBatch&Version=2012-11-05&QueueUrl=" + aws::url_encode(queue_url);
    // Each body: the send time (unix µs), a space ('+'), padding to --size bytes.
    auto stamp = std::to_string(unix_now_us());
    auto padding = std::string(o.size > stamp.size() + 1 ? o.size - stamp.size() - 1 : 0, 'x');
    for (uint64_t i = 1; i <= mine; ++i) {
      auto entry = "&SendMessageBatchRequestEntry." + std::to_string(i);
      form += entry + ".Id=m" + std::to_string(i) + entry + ".MessageBody=" + stamp + "+" + padding;
    }
    return s.post(c, std::move(form)).then([&, mine, queue_url, deadline](std::string reply) {
      auto ok = all_of(reply, "SendMessageBatchResultEntry").size();
      if (ok != mine)
        throw std::runtime_error("send batch: " + std::to_string(mine - ok) + " refused: " + reply);
      p.sent += mine;
      return produce_on(s, c, o, p, left, queue_url, deadline);
    });
  });
}

/// Receives and deletes on `c` until every message was consumed (or the run ends).
kj::Promise<void> consume_on(http_session& s, http_connection& c, const options& o, progress& p,
                             std::atomic<uint64_t>& consumed, const std::string& queue_url,
                             steady::time_point deadline, const std::atomic<uint32_t>& producing) {
  if (consumed.load() >= o.messages || p.failed ||
      (steady::now() >= deadline && producing.load() == 0))
    return kj::READY_NOW;
  auto form = "Action=ReceiveMessage&Version=2012-11-05&QueueUrl=" + aws::url_encode(queue_url) +
              "&MaxNumberOfMessages=" + std::to_string(std::min<uint32_t>(o.batch, 10)) +
              "&WaitTimeSeconds=1&VisibilityTimeout=60";
  return s.post(c, form).then([&, queue_url, deadline](std::string reply) -> kj::Promise<void> {
    auto handles = all_of(reply, "ReceiptHandle");
    if (handles.empty())
      return consume_on(s, c, o, p, consumed, queue_url, deadline, producing);
    auto now = unix_now_us();
    std::vector<uint32_t> latencies;
    for (const auto& b : all_of(reply, "Body"))
      latencies.push_back(static_cast<uint32_t>(now - std::stoll(b.substr(0, b.find(' ')))));
    p.add_latencies(latencies);
    std::string ack =
        "Action=DeleteMessageBatch&Version=2012-11-05&QueueUrl=" + aws::url_encode(queue_url);
    for (size_t i = 0; i < handles.size(); ++i) {
      auto entry = "&DeleteMessageBatchRequestEntry." + std::to_string(i + 1);
      ack += entry + ".Id=d" + std::to_string(i) + entry +
             ".ReceiptHandle=" + aws::url_encode(handles[i]);
    }
    auto n = handles.size();
    return s.post(c, std::move(ack)).then([&, n, queue_url, deadline](std::string reply) {
      auto ok = all_of(reply, "DeleteMessageBatchResultEntry").size();
      if (ok != n)
        throw std::runtime_error("delete batch: " + std::to_string(n - ok) + " failed: " + reply);
      p.received += n;
      consumed += n;
      return consume_on(s, c, o, p, consumed, queue_url, deadline, producing);
    });
  });
}

/// Runs `loop` on `count` connections of one event loop (this thread's) until all end.
template <class Loop>
void on_connections(const options& o, uint32_t count, Loop loop) {
  http_session s{o.http, o.sign};
  std::vector<http_connection> connections;
  for (uint32_t k = 0; k < count; ++k)
    connections.push_back(s.connect());
  kj::Vector<kj::Promise<void>> loops;
  for (auto& c : connections)
    loops.add(loop(s, c));
  kj::joinPromises(loops.releaseAsArray()).wait(s.wait_scope());
}

} // namespace

std::string run_http(const options& o, progress& p) {
  const auto queue_url = "http://" + o.http + "/123456789012/bench";
  try {
    http_session setup{o.http, o.sign};
    auto c = setup.connect();
    (void)setup
        .post(c, "Action=DeleteQueue&Version=2012-11-05&QueueUrl=" + aws::url_encode(queue_url))
        .then([](std::string) {}, [](kj::Exception&&) {}) // absent the first time
        .wait(setup.wait_scope());
    setup
        .post(c, "Action=CreateQueue&Version=2012-11-05&QueueName=bench&Attribute.1.Name="
                 "VisibilityTimeout&Attribute.1.Value=60")
        .wait(setup.wait_scope());
  } catch (const std::exception& e) {
    return std::string{"setting up queue bench over HTTP: "} + e.what();
  } catch (const kj::Exception& e) {
    return std::string{"setting up queue bench over HTTP: "} + e.getDescription().cStr();
  }
  first_error error{p};
  auto guarded = [&](auto f) { return error.guard(f); };
  auto deadline = o.duration_s > 0
                      ? steady::now() + std::chrono::duration_cast<steady::duration>(
                                            std::chrono::duration<double>(o.duration_s))
                      : steady::time_point::max();
  std::atomic<uint64_t> left{o.messages}, consumed{0};
  std::atomic<uint32_t> producing{o.producers};
  std::vector<std::thread> threads;
  for (uint32_t i = 0; i < o.consumers; ++i)
    threads.emplace_back(guarded([&] {
      on_connections(o, o.receives_in_flight, [&](http_session& s, http_connection& c) {
        return consume_on(s, c, o, p, consumed, queue_url, deadline, producing);
      });
    }));
  for (uint32_t i = 0; i < o.producers; ++i)
    threads.emplace_back(guarded([&] {
      on_connections(o, o.in_flight, [&](http_session& s, http_connection& c) {
        return produce_on(s, c, o, p, left, queue_url, deadline);
      });
      --producing;
    }));
  for (auto& t : threads)
    t.join();
  return error.text();
}

} // namespace mailroom::bench
