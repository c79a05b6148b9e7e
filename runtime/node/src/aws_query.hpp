// What the query-protocol services (SQS, SNS, later CloudWatch) share on the node: the refusal
// of a bad input as an AWS error, the reply documents, and the readers of fields that mean the
// same in each (integers, typed message attributes, batch entry ids). A service's dialect names
// what differs: its XML namespace and its codes for an invalid value and for batch rules.
#pragma once

#include "http_face.hpp"
#include "mailroom/aws/form.hpp"
#include "mailroom/aws/xml_writer.hpp"
#include "mailroom/types.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mailroom {

/// An input problem, as the service names it: the reply is built only at the edge.
struct refusal {
  unsigned status;
  std::string code;
  std::string message;
};

template <class T>
using checked = std::variant<T, refusal>;

/// MissingParameter, the same in every service.
refusal missing(const std::string& field);
/// InvalidAction when `action` is not one of `served` (checked before any other field, so a
/// misspelt action is not answered with a missing parameter).
std::optional<refusal> unknown_action(const std::string& action,
                                      const std::set<std::string>& served);

/// Most entries in one batch call (SendMessageBatch, DeleteMessageBatch, PublishBatch).
constexpr size_t max_batch_entries = 10;
/// Most message attributes on one message (SQS and SNS).
constexpr size_t max_message_attributes = 10;

struct aws_dialect {
  const char* xmlns;
  const char* invalid_code;      ///< SQS InvalidParameterValue, SNS InvalidParameter
  const char* batch_code_prefix; ///< SQS "AWS.SimpleQueueService.", SNS ""
  bool error_detail;             ///< SQS writes an empty <Detail/> into errors

  refusal invalid(std::string message) const;
  /// An integer field within [lo, hi]; absent: `fallback`. Text that is not a whole decimal
  /// integer (NaN, 1e3, 0x10, " 5") is refused, naming the field.
  checked<int64_t> integer(const aws::form& f, const std::string& field, int64_t lo, int64_t hi,
                           int64_t fallback) const;
  /// One typed attribute from `at`.Name and `at`.Value.{DataType, StringValue, BinaryValue}:
  /// String, Number and Binary, each with an optional custom suffix ("Number.int"), kept as
  /// sent (a Binary value base64-decoded).
  checked<attribute> message_attribute(const aws::form& f, const std::string& at) const;
  /// The attributes `list`.1, `list`.2, ... (at most max_message_attributes, distinct names).
  checked<attribute_list> message_attributes(const aws::form& f, const std::string& list) const;
  /// The entries of batch `prefix` (1 to 10), with their ids (1 to 80 of [A-Za-z0-9_-],
  /// distinct) appended to `ids` in order.
  checked<std::vector<unsigned>> batch_entries(const aws::form& f, const std::string& prefix,
                                               std::vector<std::string>& ids) const;

  /// <ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>…: `fill` writes inside
  /// the result; none: an action without output.
  aws_reply ok(const std::string& action,
               const std::function<void(aws::xml_writer&)>& fill = {}) const;
  aws_reply error(unsigned status, const std::string& code, const std::string& message) const;
  aws_reply error(const refusal& r) const { return error(r.status, r.code, r.message); }
};

extern const aws_dialect sqs_dialect;
extern const aws_dialect sns_dialect;

/// A batch entry that failed: <BatchResultErrorEntry> (SQS) or a Failed <member> (SNS) body.
void write_error_entry(aws::xml_writer& w, const std::string& id, const std::string& code,
                       const std::string& message);

/// Whether `text` is a decimal number as SQS and SNS take one ("-1", "2.50", "1e10"; not NaN,
/// Inf, hex or blanks).
bool is_decimal_number(const std::string& text);
/// `text` as a whole decimal integer (no sign '+', blanks, exponent or overflow), else nothing.
std::optional<int64_t> whole_number(std::string_view text);
/// `text` as a finite double when it is a decimal number (is_decimal_number) that fits, else
/// nothing ("1e400" overflows).
std::optional<double> finite_number(const std::string& text);

} // namespace mailroom
