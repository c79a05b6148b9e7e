#include "aws_query.hpp"

#include "mailroom/ids.hpp"
#include "mailroom/text_encoding.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <set>

namespace mailroom {

const aws_dialect sqs_dialect{"http://queue.amazonaws.com/doc/2012-11-05/", "InvalidParameterValue",
                              "AWS.SimpleQueueService.", true};
const aws_dialect sns_dialect{"http://sns.amazonaws.com/doc/2010-03-31/", "InvalidParameter", "",
                              false};

refusal missing(const std::string& field) {
  return {400, "MissingParameter", "The request must contain the parameter " + field + "."};
}

std::optional<refusal> unknown_action(const std::string& action,
                                      const std::set<std::string>& served) {
  if (served.count(action))
    return std::nullopt;
  return refusal{400, "InvalidAction",
                 action.empty()
                     ? std::string{"The request names no Action."}
                     : "The action " + action.substr(0, 100) + " is not valid for this endpoint."};
}

refusal aws_dialect::invalid(std::string message) const {
  return {400, invalid_code, std::move(message)};
}

checked<int64_t> aws_dialect::integer(const aws::form& f, const std::string& field, int64_t lo,
                                      int64_t hi, int64_t fallback) const {
  auto* text = f.find(field);
  if (!text)
    return fallback;
  auto number = whole_number(*text);
  if (!number)
    return invalid("Value " + text->substr(0, 40) + " for parameter " + field +
                   " is invalid. Reason: must be an integer.");
  auto v = *number;
  if (v < lo || v > hi)
    return invalid("Value " + *text + " for parameter " + field + " is invalid. Reason: must be " +
                   "between " + std::to_string(lo) + " and " + std::to_string(hi) + ".");
  return v;
}

std::optional<int64_t> whole_number(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    return std::nullopt;
  return v;
}

std::optional<double> finite_number(const std::string& text) {
  if (!is_decimal_number(text))
    return std::nullopt;
  errno = 0;
  double v = std::strtod(text.c_str(), nullptr);
  if (errno == ERANGE || !std::isfinite(v))
    return std::nullopt;
  return v;
}

bool is_decimal_number(const std::string& text) {
  size_t i = 0, n = text.size();
  auto digits_from = [&](size_t& at) {
    size_t count = 0;
    while (at < n && std::isdigit(static_cast<unsigned char>(text[at])))
      ++at, ++count;
    return count;
  };
  if (i < n && (text[i] == '+' || text[i] == '-'))
    ++i;
  size_t digits = digits_from(i);
  if (i < n && text[i] == '.')
    digits += digits_from(++i);
  if (digits == 0)
    return false;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < n && (text[i] == '+' || text[i] == '-'))
      ++i;
    if (digits_from(i) == 0)
      return false;
  }
  return i == n;
}

checked<attribute> aws_dialect::message_attribute(const aws::form& f, const std::string& at) const {
  auto* name = f.find(at + ".Name");
  auto* type = f.find(at + ".Value.DataType");
  if (!name)
    return missing(at + ".Name");
  if (!type)
    return missing(at + ".Value.DataType");
  bool name_ok = !name->empty() && name->size() <= 256 &&
                 std::all_of(name->begin(), name->end(), [](unsigned char c) {
                   return std::isalnum(c) || c == '_' || c == '-' || c == '.';
                 });
  if (!name_ok)
    return invalid("Message attribute name '" + name->substr(0, 100) + "' (" + at +
                   ".Name) must be 1 to 256 of letters, digits, '_', '-' and '.'.");
  std::string base = type->substr(0, type->find('.'));
  bool suffix_ok = type->size() == base.size() || type->size() > base.size() + 1;
  if ((base != "String" && base != "Number" && base != "Binary") || !suffix_ok ||
      type->size() > 256 || !aws::xml_representable(*type))
    return invalid("The message attribute '" + *name + "' has an invalid DataType '" +
                   type->substr(0, 40) + "' (" + at +
                   ".Value.DataType): String, Number or Binary, optionally with a .suffix.");
  auto* text = f.find(at + ".Value.StringValue");
  if (base == "Binary") {
    auto* binary = f.find(at + ".Value.BinaryValue");
    if (!binary)
      return missing(at + ".Value.BinaryValue");
    auto bytes = base64_decode(*binary);
    if (!bytes)
      return invalid("The message attribute '" + *name + "' (" + at +
                     ".Value.BinaryValue) is not base64.");
    return attribute{*name, std::move(*bytes), *type};
  }
  if (!text)
    return missing(at + ".Value.StringValue");
  if (!aws::xml_representable(*text))
    return refusal{400, "InvalidMessageContents",
                   "The value of message attribute '" + *name +
                       "' has a character XML 1.0 cannot carry."};
  if (base == "Number" && !is_decimal_number(*text))
    return invalid("The message attribute '" + *name + "' has DataType Number, but its value '" +
                   text->substr(0, 40) + "' (" + at + ".Value.StringValue) is not a number.");
  // String is the default type: stored as empty, so that other faces see a plain attribute.
  return attribute{*name, *text, *type == "String" ? std::string{} : *type};
}

checked<attribute_list> aws_dialect::message_attributes(const aws::form& f,
                                                        const std::string& list) const {
  auto entries = f.entries(list);
  if (entries.size() > max_message_attributes)
    return invalid("Number of message attributes [" + std::to_string(entries.size()) +
                   "] exceeds the allowed maximum [" + std::to_string(max_message_attributes) +
                   "].");
  attribute_list out;
  for (auto n : entries) {
    auto a = message_attribute(f, list + "." + std::to_string(n));
    if (auto* x = std::get_if<refusal>(&a))
      return *x;
    auto& one = std::get<attribute>(a);
    for (const auto& other : out)
      if (other.key == one.key)
        return invalid("Message attribute name '" + one.key + "' is given twice.");
    out.push_back(std::move(one));
  }
  return out;
}

checked<std::vector<unsigned>> aws_dialect::batch_entries(const aws::form& f,
                                                          const std::string& prefix,
                                                          std::vector<std::string>& ids) const {
  auto code = [&](const char* name) { return std::string{batch_code_prefix} + name; };
  auto entries = f.entries(prefix);
  if (entries.empty())
    return refusal{400, code("EmptyBatchRequest"),
                   "There should be at least one " + prefix + " in the request."};
  if (entries.size() > max_batch_entries)
    return refusal{400, code("TooManyEntriesInBatchRequest"),
                   "Maximum number of entries per request are " +
                       std::to_string(max_batch_entries) + ". You have sent " +
                       std::to_string(entries.size()) + "."};
  std::set<std::string> seen;
  for (auto n : entries) {
    auto field = prefix + "." + std::to_string(n) + ".Id";
    auto id = f.get(field);
    bool valid =
        !id.empty() && id.size() <= 80 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
          return std::isalnum(c) || c == '-' || c == '_';
        });
    if (!valid)
      return refusal{400, code("InvalidBatchEntryId"),
                     "A batch entry id (" + field + ") can only contain alphanumeric characters, " +
                         "hyphens and underscores. It can be at most 80 letters long."};
    if (!seen.insert(id).second)
      return refusal{400, code("BatchEntryIdsNotDistinct"), "Id " + id + " repeated."};
    ids.push_back(std::move(id));
  }
  return entries;
}

aws_reply aws_dialect::ok(const std::string& action,
                          const std::function<void(aws::xml_writer&)>& fill) const {
  aws::xml_writer w(action + "Response", xmlns);
  if (fill) {
    w.open(action + "Result");
    fill(w);
    w.close();
  }
  w.open("ResponseMetadata");
  w.leaf("RequestId", new_message_id());
  return {200, w.finish()};
}

aws_reply aws_dialect::error(unsigned status, const std::string& code,
                             const std::string& message) const {
  aws::xml_writer w("ErrorResponse", xmlns);
  w.open("Error");
  w.leaf("Type", status >= 500 ? "Receiver" : "Sender");
  w.leaf("Code", code);
  w.leaf("Message", message);
  if (error_detail) {
    w.open("Detail");
    w.close();
  }
  w.close();
  w.leaf("RequestId", new_message_id());
  return {status, w.finish()};
}

void write_error_entry(aws::xml_writer& w, const std::string& id, const std::string& code,
                       const std::string& message) {
  w.leaf("Id", id);
  w.leaf("SenderFault", "true");
  w.leaf("Code", code);
  w.leaf("Message", message);
}

} // namespace mailroom
