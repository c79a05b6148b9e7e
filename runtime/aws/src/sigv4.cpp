#include "mailroom/aws/sigv4.hpp"

#include "mailroom/aws/form.hpp"
#include "mailroom/aws/md5.hpp"
#include "mailroom/error.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <charconv>
#include <ctime>

namespace mailroom::aws {

namespace {

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &size);
  return std::string(reinterpret_cast<char*>(out), size);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// Header values are signed trimmed, with runs of spaces as one.
std::string canonical_value(std::string_view value) {
  std::string out;
  bool space = false;
  for (char c : trim(value)) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space)
      out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for_each_pair(query, [&](std::string_view key, std::string_view value) {
    pairs.emplace_back(url_encode(url_decode(key).value_or(std::string{key})),
                       url_encode(url_decode(value).value_or(std::string{value})));
    return true;
  });
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty())
      out.push_back('&');
    out += k + "=" + v;
  }
  return out;
}

caf::error incomplete(std::string what) {
  return make_error(errc::invalid_argument, "Authorization header: " + std::move(what));
}

} // namespace

std::string sha256_hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  return lower_hex(digest, size);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

caf::expected<sigv4_authorization> parse_authorization(std::string_view header) {
  header = trim(header);
  if (header.substr(0, algorithm.size()) != algorithm ||
      (header.size() > algorithm.size() && header[algorithm.size()] != ' '))
    return incomplete("only AWS4-HMAC-SHA256 signatures are accepted");
  auto rest = header.substr(algorithm.size());
  sigv4_authorization out;
  std::string credential, signed_headers;
  while (!rest.empty()) {
    auto comma = rest.find(',');
    auto part = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    auto eq = part.find('=');
    if (eq == std::string_view::npos)
      return incomplete("'" + std::string{part.substr(0, 40)} + "' is not NAME=VALUE");
    auto name = part.substr(0, eq);
    auto value = std::string{part.substr(eq + 1)};
    if (name == "Credential")
      credential = value;
    else if (name == "SignedHeaders")
      signed_headers = value;
    else if (name == "Signature")
      out.signature = value;
  }
  if (credential.empty() || signed_headers.empty() || out.signature.empty())
    return incomplete("Credential, SignedHeaders and Signature are all required");
  // AKID/DATE/REGION/SERVICE/aws4_request
  std::vector<std::string> scope;
  size_t start = 0;
  for (;;) {
    auto slash = credential.find('/', start);
    scope.push_back(credential.substr(start, slash - start));
    if (slash == std::string::npos)
      break;
    start = slash + 1;
  }
  if (scope.size() != 5 || scope[4] != "aws4_request" || scope[0].empty() || scope[1].size() != 8 ||
      scope[2].empty() || scope[3].empty())
    return incomplete("Credential '" + credential.substr(0, 120) +
                      "' is not ACCESS_KEY/YYYYMMDD/REGION/SERVICE/aws4_request");
  out.access_key = scope[0];
  out.date = scope[1];
  out.region = scope[2];
  out.service = scope[3];
  start = 0;
  for (;;) {
    auto semi = signed_headers.find(';', start);
    auto name = signed_headers.substr(start, semi - start);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!name.empty())
      out.signed_headers.push_back(std::move(name));
    if (semi == std::string::npos)
      break;
    start = semi + 1;
  }
  return out;
}

std::string sigv4_signature(const sigv4_authorization& auth, std::string_view secret,
                            const signed_request& request) {
  std::string canonical = request.method + "\n" + (request.path.empty() ? "/" : request.path) +
                          "\n" + canonical_query(request.query) + "\n";
  std::string names;
  for (const auto& h : auth.signed_headers) {
    auto it = request.headers.find(h);
    canonical += h + ":" + (it == request.headers.end() ? "" : canonical_value(it->second)) + "\n";
    names += (names.empty() ? "" : ";") + h;
  }
  auto payload = request.headers.find("x-amz-content-sha256");
  canonical += "\n" + names + "\n" +
               (payload != request.headers.end() ? payload->second : sha256_hex(request.body));
  auto scope = auth.date + "/" + auth.region + "/" + auth.service + "/aws4_request";
  auto to_sign = std::string{algorithm} + "\n" + request.amz_date + "\n" + scope + "\n" +
                 sha256_hex(canonical);
  auto key = hmac("AWS4" + std::string{secret}, auth.date);
  key = hmac(key, auth.region);
  key = hmac(key, auth.service);
  key = hmac(key, "aws4_request");
  auto signature = hmac(key, to_sign);
  return lower_hex(reinterpret_cast<const unsigned char*>(signature.data()), signature.size());
}

int64_t parse_amz_date(std::string_view text) {
  // YYYYMMDDTHHMMSSZ
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z')
    return -1;
  auto number = [&](size_t at, size_t n, int& out) {
    auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + n, out);
    return ec == std::errc{} && end == text.data() + at + n;
  };
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!number(0, 4, year) || !number(4, 2, month) || !number(6, 2, day) || !number(9, 2, hour) ||
      !number(11, 2, minute) || !number(13, 2, second))
    return -1;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return -1;
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

} // namespace mailroom::aws
