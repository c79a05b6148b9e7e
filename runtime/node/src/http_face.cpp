#include "http_face.hpp"

#include "cloudwatch_api.hpp"
#include "http_auth.hpp"
#include "journal.hpp"
#include "log_throttle.hpp"
#include "metrics.hpp"
#include "mailroom/aws/sigv4.hpp"
#include "mailroom/error.hpp"
#include "mailroom/node.hpp"
#include "sns_api.hpp"
#include "sqs_api.hpp"

#include <kj/compat/http.h>
#include <spdlog/spdlog.h>

#include <cctype>
#include <functional>
#include <map>

namespace mailroom {

namespace {

/// The queue a path names: "/ACCOUNT/QUEUE" (or "/queue/QUEUE", as ElasticMQ and goaws take).
std::string queue_from_path(kj::StringPtr url) {
  std::string path{url.cStr()};
  if (auto q = path.find('?'); q != std::string::npos)
    path.resize(q);
  auto slash = path.find('/', 1);
  if (path.size() < 2 || slash == std::string::npos || slash + 1 >= path.size())
    return {};
  auto name = path.substr(slash + 1);
  if (name.find('/') != std::string::npos)
    return {};
  return aws::url_decode(name).value_or(std::string{});
}

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class aws_service final : public kj::HttpService {
public:
  /// The two pages that are not the AWS protocol.
  struct pages {
    std::function<aws_reply()> health;
    std::function<kj::Promise<aws_reply>()> metrics;
  };

  /// `config`: the node's (its auth and clock).
  aws_service(const kj::HttpHeaderTable& table, const node_config& config, sqs_api& sqs,
              sns_api& sns, cloudwatch_api& cloudwatch, pages p)
      : table_(table), config_(config), sqs_(sqs), sns_(sns), cloudwatch_(cloudwatch),
        pages_(std::move(p)) {}

  kj::Promise<void> request(kj::HttpMethod method, kj::StringPtr url,
                            const kj::HttpHeaders& headers, kj::AsyncInputStream& body,
                            Response& response) override {
    if (method == kj::HttpMethod::GET && url == "/health")
      return send(response, pages_.health(), "text/plain");
    if (method == kj::HttpMethod::GET && url == "/metrics")
      return pages_.metrics().then([this, &response](aws_reply reply) {
        return send(response, std::move(reply), "text/plain; version=0.0.4; charset=utf-8");
      });
    if (method != kj::HttpMethod::POST)
      return send(response,
                  sqs_error(405, "InvalidAction",
                            "Only POST requests with a form body (the AWS query protocol) are "
                            "served; GET /health and GET /metrics answer health and metrics."));
    auto length = body.tryGetLength();
    KJ_IF_MAYBE (n, length) {
      if (*n > max_http_body_bytes)
        return send(response, too_large(*n));
    }
    auto request = std::make_shared<aws_request>();
    KJ_IF_MAYBE (host, headers.get(kj::HttpHeaderId::HOST))
      request->host = host->cStr();
    request->path_queue = queue_from_path(url);
    request->scope = {aws_default_region, config_.aws_account};
    std::map<std::string, std::string> all;
    headers.forEach(
        [&](kj::StringPtr name, kj::StringPtr value) { all[lower(name.cStr())] = value.cStr(); });
    // The region of ARNs and URLs is the one the client signed for (also with auth = "none").
    std::shared_ptr<aws::sigv4_authorization> auth;
    if (auto it = all.find("authorization"); it != all.end()) {
      auto parsed = aws::parse_authorization(it->second);
      if (!parsed)
        return send(response, sqs_error(400, "IncompleteSignature", message_of(parsed.error())));
      auth = std::make_shared<aws::sigv4_authorization>(std::move(*parsed));
      request->scope.region = auth->region;
    }
    // What SigV4 signs: only kept when it is checked (auth = "sigv4").
    std::shared_ptr<aws::signed_request> signed_parts;
    if (config_.http_auth.mode == "sigv4") {
      signed_parts = std::make_shared<aws::signed_request>();
      signed_parts->method = "POST";
      std::string target{url.cStr()};
      auto q = target.find('?');
      signed_parts->path = target.substr(0, q);
      signed_parts->query = q == std::string::npos ? std::string{} : target.substr(q + 1);
      if (auto it = all.find("x-amz-date"); it != all.end())
        signed_parts->amz_date = it->second;
      signed_parts->headers = std::move(all);
    }
    // Read one byte past the bound, so a body without Content-Length that passes it is seen.
    return body.readAllText(max_http_body_bytes + 1)
        .then([this, request, auth, signed_parts, &response](kj::String text) -> kj::Promise<void> {
          if (text.size() > max_http_body_bytes)
            return send(response, too_large(text.size()));
          const std::string service = auth ? auth->service : "";
          const auto& dialect = service == "sns"          ? sns_dialect
                                : service == "monitoring" ? cloudwatch_dialect
                                                          : sqs_dialect;
          if (signed_parts) {
            signed_parts->body.assign(text.cStr(), text.size());
            if (auto refused = check_signature(config_.http_auth, auth.get(), *signed_parts,
                                               config_.clock->now_ms()))
              return send(response, dialect.error(*refused));
          }
          auto form = aws::form::parse(std::string_view{text.cStr(), text.size()});
          if (!form)
            return send(response, sqs_error(400, "MalformedQueryString", message_of(form.error())));
          request->form = std::move(*form);
          // The API version names the service; without one, the signature's scope does.
          auto version = request->form.get("Version");
          bool is_sns = version == "2010-03-31" || (version.empty() && service == "sns");
          bool is_cloudwatch =
              version == "2010-08-01" || (version.empty() && service == "monitoring");
          if (!version.empty() && version != "2012-11-05" && !is_sns && !is_cloudwatch)
            return send(response, sqs_error(400, "InvalidAction",
                                            "Version " + version.substr(0, 40) +
                                                " is not served here: SQS (2012-11-05), SNS "
                                                "(2010-03-31) and CloudWatch (2010-08-01) are."));
          auto reply = is_sns          ? sns_.handle(*request)
                       : is_cloudwatch ? cloudwatch_.handle(*request)
                                       : sqs_.handle(*request);
          return reply.then(
              [this, &response](aws_reply reply) { return send(response, std::move(reply)); });
        });
  }

private:
  static aws_reply too_large(uint64_t n) {
    return sqs_error(413, "RequestEntityTooLarge",
                     "The request body of " + std::to_string(n) + " bytes exceeds the limit of " +
                         std::to_string(max_http_body_bytes) + " bytes.");
  }

  kj::Promise<void> send(Response& response, aws_reply reply, const char* type = "text/xml") {
    kj::HttpHeaders out(table_);
    out.set(kj::HttpHeaderId::CONTENT_TYPE, type);
    auto body = kj::heapString(reply.body.data(), reply.body.size());
    auto stream = response.send(reply.status, status_text(reply.status), out, body.size());
    auto write = stream->write(body.begin(), body.size());
    return write.attach(kj::mv(stream), kj::mv(body));
  }

  static kj::StringPtr status_text(unsigned status) {
    switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
    }
  }

  const kj::HttpHeaderTable& table_;
  const node_config& config_;
  sqs_api& sqs_;
  sns_api& sns_;
  cloudwatch_api& cloudwatch_;
  pages pages_;
};

} // namespace

struct http_face::impl {
  impl(node& n, actor_bridge& bridge, kj::Timer& timer, endpoint_limits l,
       std::function<uint32_t()> client_connections)
      : timer(timer), limits(l), sqs(n, bridge), sns(n, bridge), cloudwatch(n, bridge),
        service(*table, n.config(), sqs, sns, cloudwatch,
                {[&n] { return health(n); },
                 [this, &n, &bridge, client_connections] {
                   // Asks every actor and reads the journal: off the loop.
                   connection_counts counts{client_connections(), open};
                   auto text = std::make_shared<std::string>();
                   return bridge
                       .run([&n, counts, text] {
                         *text = prometheus_metrics(n, counts);
                         return caf::error{};
                       })
                       .then([text](caf::error err) {
                         return err ? aws_reply{503, message_of(err) + "\n"}
                                    : aws_reply{200, std::move(*text)};
                       });
                 }}),
        server(timer, *table, service, settings(l)) {}

  /// 200 while the journal takes writes; 503 with the reason after it stopped (fail-stop).
  static aws_reply health(node& n) {
    if (auto err = n.journal_internal().refusing_writes())
      return {503, "journal refuses writes: " + message_of(err) + "\n"};
    return {200, "ok\n"};
  }

  static kj::HttpServerSettings settings(const endpoint_limits& l) {
    kj::HttpServerSettings s;
    // A client must send its headers within the frame timeout, and an idle keep-alive
    // connection closes after the idle timeout: slow or idle clients do not hold descriptors for
    // ever.
    s.headerTimeout = l.frame_timeout_ms * kj::MILLISECONDS;
    s.pipelineTimeout = l.idle_timeout_ms * kj::MILLISECONDS;
    // A body refused unread (too large) is drained up to this much before the connection
    // closes, so that the client reads the 413 instead of a reset.
    s.canceledUploadGraceBytes = 2 * max_http_body_bytes;
    return s;
  }

  /// Accepts connections, up to the limit; past it a new connection is closed at once (the
  /// Cap'n Proto endpoint does the same).
  kj::Promise<void> accept(kj::ConnectionReceiver& receiver) {
    return receiver.accept().then(
        [this, &receiver](kj::Own<kj::AsyncIoStream> connection) -> kj::Promise<void> {
          if (open >= limits.max_connections) {
            auto now_ms = (timer.now() - kj::origin<kj::TimePoint>()) / kj::MILLISECONDS;
            if (auto suppressed = refused_log.event(now_ms))
              spdlog::warn("HTTP face: connection refused ({} more since the last report): {} "
                           "open is the limit",
                           *suppressed, limits.max_connections);
          } else {
            ++open;
            tasks.add(server.listenHttp(kj::mv(connection))
                          .then([this] { --open; }, [this](kj::Exception&&) { --open; }));
          }
          return accept(receiver);
        },
        [this, &receiver](kj::Exception&& e) -> kj::Promise<void> {
          spdlog::warn("HTTP face: accept failed: {}", e.getDescription().cStr());
          return accept(receiver);
        });
  }

  struct ignore_errors final : kj::TaskSet::ErrorHandler {
    void taskFailed(kj::Exception&&) override {}
  };

  kj::Timer& timer;
  endpoint_limits limits;
  kj::Own<kj::HttpHeaderTable> table = kj::HttpHeaderTable::Builder().build();
  sqs_api sqs;
  sns_api sns;
  cloudwatch_api cloudwatch;
  aws_service service;
  kj::HttpServer server;
  ignore_errors errors;
  kj::TaskSet tasks{errors};
  uint32_t open = 0;
  log_throttle refused_log{10'000};
};

http_face::http_face(node& n, actor_bridge& bridge, kj::Timer& timer, endpoint_limits limits,
                     std::function<uint32_t()> client_connections)
    : impl_(std::make_unique<impl>(n, bridge, timer, limits, std::move(client_connections))) {}

http_face::~http_face() = default;

kj::Promise<void> http_face::run(kj::ConnectionReceiver& receiver) {
  return impl_->accept(receiver);
}

} // namespace mailroom
