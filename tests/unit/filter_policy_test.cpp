// SNS filter policies: every operator in both scopes, the limits, and bad policies.
#include "actors/topic/filter_policy.hpp"

#include "mailroom/error.hpp"

#include <gtest/gtest.h>

using namespace mailroom;

namespace {

bool attrs_match(const char* policy, attribute_list attributes) {
  auto p = filter_policy::parse(policy, filter_scope::attributes);
  EXPECT_TRUE(p) << policy << ": " << message_of(p.error());
  filter_input in{attributes, ""};
  return p && p->matches(in);
}

bool body_matches(const char* policy, std::string body) {
  auto p = filter_policy::parse(policy, filter_scope::body);
  EXPECT_TRUE(p) << policy << ": " << message_of(p.error());
  attribute_list none;
  filter_input in{none, body};
  return p && p->matches(in);
}

std::string refusal(const std::string& policy, filter_scope scope = filter_scope::attributes) {
  auto p = filter_policy::parse(policy, scope);
  EXPECT_FALSE(p) << policy << " was accepted";
  if (p)
    return {};
  EXPECT_EQ(code_of(p.error()), errc::invalid_argument);
  return message_of(p.error());
}

#define EXPECT_REFUSED(policy, words) EXPECT_NE(refusal(policy).find(words), std::string::npos) << refusal(policy)

} // namespace

TEST(filter_policy, exact_strings_are_ored_within_a_key_and_keys_are_anded) {
  const char* p = R"({"kind": ["paid", "refunded"], "region": ["eu"]})";
  EXPECT_TRUE(attrs_match(p, {{"kind", "paid"}, {"region", "eu"}}));
  EXPECT_TRUE(attrs_match(p, {{"kind", "refunded"}, {"region", "eu"}}));
  EXPECT_FALSE(attrs_match(p, {{"kind", "paid"}, {"region", "us"}}));
  EXPECT_FALSE(attrs_match(p, {{"kind", "paid"}}));
}

TEST(filter_policy, numbers_match_numerically_in_attributes) {
  EXPECT_TRUE(attrs_match(R"({"n": [5]})", {{"n", "5.0"}}));
  EXPECT_FALSE(attrs_match(R"({"n": [5]})", {{"n", "five"}}));
  const char* range = R"({"n": [{"numeric": [">", 0, "<=", 100]}]})";
  EXPECT_TRUE(attrs_match(range, {{"n", "100"}}));
  EXPECT_FALSE(attrs_match(range, {{"n", "0"}}));
  EXPECT_FALSE(attrs_match(range, {{"n", "100.5"}}));
  EXPECT_FALSE(attrs_match(range, {{"n", "abc"}}));
  EXPECT_TRUE(attrs_match(R"({"n": [{"numeric": ["=", 3]}]})", {{"n", "3"}}));
  EXPECT_TRUE(attrs_match(R"({"n": [{"numeric": ["<", 3]}]})", {{"n", "-1e3"}}));
}

TEST(filter_policy, prefix_suffix_and_equals_ignore_case) {
  EXPECT_TRUE(attrs_match(R"({"s": [{"prefix": "ord-"}]})", {{"s", "ord-17"}}));
  EXPECT_FALSE(attrs_match(R"({"s": [{"prefix": "ord-"}]})", {{"s", "inv-17"}}));
  EXPECT_TRUE(attrs_match(R"({"s": [{"suffix": ".png"}]})", {{"s", "a.png"}}));
  EXPECT_FALSE(attrs_match(R"({"s": [{"suffix": ".png"}]})", {{"s", "png"}}));
  EXPECT_TRUE(attrs_match(R"({"s": [{"equals-ignore-case": "PaId"}]})", {{"s", "PAID"}}));
}

TEST(filter_policy, anything_but_excludes_values_and_needs_the_key) {
  const char* p = R"({"s": [{"anything-but": ["a", 5]}]})";
  EXPECT_TRUE(attrs_match(p, {{"s", "b"}}));
  EXPECT_FALSE(attrs_match(p, {{"s", "a"}}));
  EXPECT_FALSE(attrs_match(p, {{"s", "5.0"}}));
  EXPECT_FALSE(attrs_match(p, {})) << "as in SNS, a missing key is not 'anything but'";
  EXPECT_TRUE(attrs_match(R"({"s": [{"anything-but": "a"}]})", {{"s", "b"}}));
  EXPECT_FALSE(attrs_match(R"({"s": [{"anything-but": {"prefix": "test-"}}]})", {{"s", "test-1"}}));
  EXPECT_TRUE(attrs_match(R"({"s": [{"anything-but": {"prefix": "test-"}}]})", {{"s", "prod-1"}}));
}

TEST(filter_policy, exists_matches_presence_or_absence) {
  EXPECT_TRUE(attrs_match(R"({"s": [{"exists": true}]})", {{"s", ""}}));
  EXPECT_FALSE(attrs_match(R"({"s": [{"exists": true}]})", {}));
  EXPECT_TRUE(attrs_match(R"({"s": [{"exists": false}]})", {}));
  EXPECT_FALSE(attrs_match(R"({"s": [{"exists": false}]})", {{"s", "x"}}));
}

TEST(filter_policy, or_takes_any_of_several_policies) {
  const char* p = R"({"$or": [{"a": ["1"]}, {"b": ["2"]}]})";
  EXPECT_TRUE(attrs_match(p, {{"a", "1"}}));
  EXPECT_TRUE(attrs_match(p, {{"b", "2"}}));
  EXPECT_FALSE(attrs_match(p, {{"a", "2"}}));
  const char* mixed = R"({"k": ["x"], "$or": [{"a": ["1"]}, {"b": ["2"]}]})";
  EXPECT_TRUE(attrs_match(mixed, {{"k", "x"}, {"b", "2"}}));
  EXPECT_FALSE(attrs_match(mixed, {{"b", "2"}}));
}

TEST(filter_policy, body_policies_descend_into_nested_fields_and_keep_json_types) {
  const char* p = R"({"order": {"status": ["shipped"], "total": [{"numeric": [">=", 100]}]}})";
  EXPECT_TRUE(body_matches(p, R"({"order": {"status": "shipped", "total": 120}})"));
  EXPECT_FALSE(body_matches(p, R"({"order": {"status": "shipped", "total": 99}})"));
  EXPECT_FALSE(body_matches(p, R"({"order": {"status": "shipped", "total": "120"}})"))
      << "a string is not a number in a body";
  EXPECT_FALSE(body_matches(p, R"({"order": "shipped"})"));
  EXPECT_FALSE(body_matches(p, "not json"));
  EXPECT_FALSE(body_matches(p, "[1, 2]"));
}

TEST(filter_policy, body_arrays_match_when_any_element_does) {
  EXPECT_TRUE(body_matches(R"({"tags": ["red"]})", R"({"tags": ["blue", "red"]})"));
  EXPECT_FALSE(body_matches(R"({"tags": ["red"]})", R"({"tags": ["blue"]})"));
}

TEST(filter_policy, body_literals_and_exists) {
  EXPECT_TRUE(body_matches(R"({"gift": [true]})", R"({"gift": true})"));
  EXPECT_FALSE(body_matches(R"({"gift": [true]})", R"({"gift": "true"})"));
  EXPECT_TRUE(body_matches(R"({"note": [null]})", R"({"note": null})"));
  EXPECT_TRUE(body_matches(R"({"note": [{"exists": false}]})", R"({"other": 1})"));
  EXPECT_TRUE(body_matches(R"({"n": [{"anything-but": [1, 2]}]})", R"({"n": 3})"));
  EXPECT_FALSE(body_matches(R"({"n": [{"anything-but": [1, 2]}]})", R"({"n": 2})"));
}

TEST(filter_policy, bad_policies_are_refused_naming_the_problem) {
  EXPECT_REFUSED("{not json", "is not valid JSON");
  EXPECT_REFUSED("[1]", "must be a JSON object");
  EXPECT_REFUSED("{}", "at least one key");
  EXPECT_REFUSED(R"({"k": "v"})", "key 'k': conditions must be an array");
  EXPECT_REFUSED(R"({"k": []})", "key 'k': needs at least one condition");
  EXPECT_REFUSED(R"({"k": [{"foo": 1}]})", "unknown operator 'foo'");
  EXPECT_REFUSED(R"({"k": [{"prefix": "a", "suffix": "b"}]})", "exactly one operator");
  EXPECT_REFUSED(R"({"k": [{"prefix": 1}]})", "'prefix' needs a non-empty string");
  EXPECT_REFUSED(R"({"k": [{"numeric": [">", "x"]}]})", "needs a number after '>'");
  EXPECT_REFUSED(R"({"k": [{"numeric": ["~", 1]}]})", "unknown operator '~'");
  EXPECT_REFUSED(R"({"k": [{"numeric": [">", 10, "<", 1]}]})", "lower bound above");
  EXPECT_REFUSED(R"({"k": [{"numeric": ["<", 10, ">", 1]}]})", "lower bound");
  EXPECT_REFUSED(R"({"k": [{"exists": "yes"}]})", "'exists' needs true or false");
  EXPECT_REFUSED(R"({"k": [{"anything-but": []}]})", "at least one value");
  EXPECT_REFUSED(R"({"k": [{"anything-but": {"numeric": [">", 1]}}]})", "'anything-but' takes");
  EXPECT_REFUSED(R"({"k": {"nested": ["x"]}})", "match JSON bodies only");
  EXPECT_REFUSED(R"({"k": [true]})", "JSON bodies only");
}

TEST(filter_policy, limits_follow_sns) {
  EXPECT_REFUSED(R"({"a": ["1"], "b": ["1"], "c": ["1"], "d": ["1"], "e": ["1"], "f": ["1"]})",
                 "6 keys");
  std::string many = R"({"a": [)";
  for (int i = 0; i < 151; ++i)
    many += (i ? "," : "") + std::to_string(i);
  many += "]}";
  EXPECT_NE(refusal(many).find("151 value combinations"), std::string::npos);
  EXPECT_NE(refusal(R"({"a": {"b": {"c": {"d": {"e": {"f": ["x"]}}}}}})", filter_scope::body)
                .find("deeper than 5"),
            std::string::npos);
  EXPECT_NE(refusal(std::string(300 * 1024, ' ')).find("256 KiB"), std::string::npos);
}
