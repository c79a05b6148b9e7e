// The body of an AWS query-protocol request: application/x-www-form-urlencoded fields
// (`Action=SendMessage&QueueUrl=...&MessageAttribute.1.Name=...`), decoded once into a map.
// SQS flattens lists and maps into numbered keys; list() and entries() read them back.
#pragma once

#include <caf/expected.hpp>

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::aws {

class form {
public:
  /// Most fields one request may carry: a full SendMessageBatch (10 entries of 10 attributes,
  /// 4 fields each, plus their own) stays well below it.
  static constexpr size_t max_fields = 2000;

  /// Decodes `body`: '+' is a space, %XX a byte. A malformed escape, a repeated or empty key,
  /// or more than max_fields fields is an error that names the field.
  static caf::expected<form> parse(std::string_view body);

  const std::string* find(const std::string& key) const;
  std::string get(const std::string& key) const; ///< "" when absent
  bool has(const std::string& key) const { return fields_.count(key) > 0; }

  /// The values of `prefix.1`, `prefix.2`, ... up to the first missing index.
  std::vector<std::string> list(const std::string& prefix) const;
  /// The indices N for which some key starts with `prefix.N.`, in increasing order (entries of
  /// a batch or a flattened map; gaps are kept, as SQS reads them).
  std::vector<unsigned> entries(const std::string& prefix) const;

  const std::map<std::string, std::string>& fields() const { return fields_; }

private:
  std::map<std::string, std::string> fields_;
};

/// Calls `visit(key, value)` with the raw (still encoded) parts of each non-empty `key=value`
/// between '&'s, until it returns false. A part without '=' has an empty value.
template <class Visit>
void for_each_pair(std::string_view text, Visit&& visit) {
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('&', start);
    if (end == std::string_view::npos)
      end = text.size();
    auto pair = text.substr(start, end - start);
    start = end + 1;
    if (pair.empty())
      continue; // "a=1&&b=2" and a trailing '&' carry nothing
    auto eq = pair.find('=');
    if (!visit(pair.substr(0, eq),
               eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1)))
      return;
  }
}

/// Percent-decodes one form component; nullopt when an escape is malformed.
std::optional<std::string> url_decode(std::string_view text);
/// Percent-encodes for a URL path or query (RFC 3986 unreserved characters stay).
std::string url_encode(std::string_view text);

} // namespace mailroom::aws
