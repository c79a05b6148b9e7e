// SNS subscription filter policies: every operator in both scopes, AND/OR, nested bodies, the
// limits, and every way a policy can be refused.
#include "filter_policy.hpp"

#include "mailroom/error.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace mailroom;

namespace {

/// Whether an attribute-scope policy takes a message with these attributes (and any body).
bool takes_attributes(std::string_view policy, const attribute_list& attributes) {
  auto p = filter_policy::parse(policy, filter_scope::attributes);
  EXPECT_TRUE(p) << policy << ": " << message_of(p.error());
  filter_input in{attributes, R"({"ignored": "body"})"};
  return p && p->matches(in);
}

/// Whether a body-scope policy takes a message with this body (and no attributes).
bool takes_body(std::string_view policy, std::string_view body) {
  auto p = filter_policy::parse(policy, filter_scope::body);
  EXPECT_TRUE(p) << policy << ": " << message_of(p.error());
  attribute_list none;
  filter_input in{none, body};
  return p && p->matches(in);
}

/// Passes when the policy is refused as invalid_argument with a message naming `words`.
testing::AssertionResult refused(std::string_view policy, std::string_view words,
                                 filter_scope scope = filter_scope::attributes) {
  auto p = filter_policy::parse(policy, scope);
  if (p)
    return testing::AssertionFailure() << policy << " was accepted";
  auto message = message_of(p.error());
  if (code_of(p.error()) != errc::invalid_argument)
    return testing::AssertionFailure()
           << "code " << to_string(code_of(p.error())) << ": " << message;
  if (message.rfind("filter policy: ", 0) != 0 || message.find(words) == std::string::npos)
    return testing::AssertionFailure() << "message \"" << message << "\" lacks \"" << words << "\"";
  return testing::AssertionSuccess();
}

testing::AssertionResult refused_in_body(std::string_view policy, std::string_view words) {
  return refused(policy, words, filter_scope::body);
}

/// {"k": [0, 1, ..., n - 1]}: a key with n conditions.
std::string key_with_conditions(const std::string& key, int n) {
  std::string out = "\"" + key + "\": [";
  for (int i = 0; i < n; ++i)
    out += (i ? ", " : "") + std::to_string(i);
  return out + "]";
}

} // namespace

// --- attribute scope -------------------------------------------------------------------------

TEST(filter_policy, exact_strings_are_ored_within_a_key_and_keys_are_anded) {
  auto p = R"({"kind": ["paid", "refunded"], "region": ["eu"]})";
  EXPECT_TRUE(takes_attributes(p, {{"kind", "paid"}, {"region", "eu"}}));
  EXPECT_TRUE(takes_attributes(p, {{"region", "eu"}, {"kind", "refunded"}}));
  EXPECT_FALSE(takes_attributes(p, {{"kind", "paid"}, {"region", "us"}}));
  EXPECT_FALSE(takes_attributes(p, {{"kind", "paid"}}));
  EXPECT_FALSE(takes_attributes(p, {}));
}

TEST(filter_policy, exact_strings_match_whole_values_and_case) {
  auto p = R"({"kind": ["paid"]})";
  EXPECT_FALSE(takes_attributes(p, {{"kind", "Paid"}}));
  EXPECT_FALSE(takes_attributes(p, {{"kind", "paid "}}));
  EXPECT_FALSE(takes_attributes(p, {{"kind", "unpaid"}}));
  EXPECT_TRUE(takes_attributes(R"({"kind": [""]})", {{"kind", ""}}));
}

TEST(filter_policy, a_number_matches_attribute_text_that_reads_as_that_number) {
  auto p = R"({"n": [5]})";
  for (auto same : {"5", "5.0", "5e0", "5.000", "0.5e1"})
    EXPECT_TRUE(takes_attributes(p, {{"n", same}})) << same;
  for (auto other : {"6", "five", "5 ", " 5", "5x", "", "0x5", "nan", "inf"})
    EXPECT_FALSE(takes_attributes(p, {{"n", other}})) << other;
  EXPECT_TRUE(takes_attributes(R"({"n": [-1.5]})", {{"n", "-1.50"}}));
}

TEST(filter_policy, a_string_condition_compares_text_even_when_it_looks_like_a_number) {
  EXPECT_TRUE(takes_attributes(R"({"n": ["5"]})", {{"n", "5"}}));
  EXPECT_FALSE(takes_attributes(R"({"n": ["5"]})", {{"n", "5.0"}}));
}

TEST(filter_policy, prefix_matches_the_start_of_an_attribute) {
  auto p = R"({"id": [{"prefix": "ord-"}]})";
  EXPECT_TRUE(takes_attributes(p, {{"id", "ord-17"}}));
  EXPECT_TRUE(takes_attributes(p, {{"id", "ord-"}}));
  EXPECT_FALSE(takes_attributes(p, {{"id", "inv-ord-17"}}));
  EXPECT_FALSE(takes_attributes(p, {{"id", "ord"}}));
  EXPECT_FALSE(takes_attributes(p, {{"id", "ORD-17"}}));
}

TEST(filter_policy, suffix_matches_the_end_of_an_attribute) {
  auto p = R"({"file": [{"suffix": ".png"}]})";
  EXPECT_TRUE(takes_attributes(p, {{"file", "cat.png"}}));
  EXPECT_FALSE(takes_attributes(p, {{"file", "cat.png.jpg"}}));
  EXPECT_FALSE(takes_attributes(p, {{"file", "png"}}));
}

TEST(filter_policy, equals_ignore_case_matches_regardless_of_ascii_case) {
  auto p = R"({"kind": [{"equals-ignore-case": "PaId"}]})";
  EXPECT_TRUE(takes_attributes(p, {{"kind", "paid"}}));
  EXPECT_TRUE(takes_attributes(p, {{"kind", "PAID"}}));
  EXPECT_FALSE(takes_attributes(p, {{"kind", "paid!"}}));
  EXPECT_FALSE(takes_attributes(p, {{"kind", "unpaid"}}));
}

TEST(filter_policy, anything_but_matches_a_present_attribute_that_is_none_of_the_values) {
  auto p = R"({"s": [{"anything-but": ["a", 5]}]})";
  EXPECT_TRUE(takes_attributes(p, {{"s", "b"}}));
  EXPECT_TRUE(takes_attributes(p, {{"s", "6"}}));
  EXPECT_FALSE(takes_attributes(p, {{"s", "a"}}));
  EXPECT_FALSE(takes_attributes(p, {{"s", "5"}}));
  EXPECT_FALSE(takes_attributes(p, {{"s", "5.0"}})) << "numbers compare as numbers";
  EXPECT_FALSE(takes_attributes(p, {})) << "as in SNS, a missing key is not 'anything but'";
  EXPECT_TRUE(takes_attributes(R"({"s": [{"anything-but": "a"}]})", {{"s", "b"}}));
  EXPECT_FALSE(takes_attributes(R"({"s": [{"anything-but": "a"}]})", {{"s", "a"}}));
  EXPECT_FALSE(takes_attributes(R"({"s": [{"anything-but": 0}]})", {{"s", "0.0"}}));
}

TEST(filter_policy, anything_but_prefix_and_suffix_exclude_by_affix) {
  auto prefix = R"({"env": [{"anything-but": {"prefix": "test-"}}]})";
  EXPECT_TRUE(takes_attributes(prefix, {{"env", "prod-1"}}));
  EXPECT_FALSE(takes_attributes(prefix, {{"env", "test-1"}}));
  auto suffix = R"({"file": [{"anything-but": {"suffix": ".tmp"}}]})";
  EXPECT_TRUE(takes_attributes(suffix, {{"file", "a.txt"}}));
  EXPECT_FALSE(takes_attributes(suffix, {{"file", "a.tmp"}}));
}

TEST(filter_policy, numeric_comparisons_read_attributes_as_numbers) {
  auto at = [](const char* op, const char* value) {
    return takes_attributes(std::string{R"({"n": [{"numeric": [")"} + op + R"(", 10]}]})",
                            {{"n", value}});
  };
  EXPECT_TRUE(at("=", "10.0"));
  EXPECT_FALSE(at("=", "10.5"));
  EXPECT_TRUE(at("<", "9.99"));
  EXPECT_FALSE(at("<", "10"));
  EXPECT_TRUE(at("<=", "10"));
  EXPECT_FALSE(at("<=", "11"));
  EXPECT_TRUE(at(">", "1e2"));
  EXPECT_FALSE(at(">", "10"));
  EXPECT_TRUE(at(">=", "10"));
  EXPECT_FALSE(at(">=", "-20"));
  EXPECT_FALSE(at(">", "eleven")) << "text that is not a number matches no numeric condition";
}

TEST(filter_policy, a_numeric_range_has_a_lower_then_an_upper_bound) {
  auto p = R"({"n": [{"numeric": [">", 0, "<=", 100]}]})";
  EXPECT_FALSE(takes_attributes(p, {{"n", "0"}}));
  EXPECT_TRUE(takes_attributes(p, {{"n", "0.001"}}));
  EXPECT_TRUE(takes_attributes(p, {{"n", "100"}}));
  EXPECT_FALSE(takes_attributes(p, {{"n", "100.5"}}));
  auto closed = R"({"n": [{"numeric": [">=", 5, "<=", 5]}]})";
  EXPECT_TRUE(takes_attributes(closed, {{"n", "5"}}));
  EXPECT_FALSE(takes_attributes(closed, {{"n", "5.01"}}));
}

TEST(filter_policy, exists_true_needs_the_attribute_and_exists_false_its_absence) {
  EXPECT_TRUE(takes_attributes(R"({"s": [{"exists": true}]})", {{"s", ""}}));
  EXPECT_FALSE(takes_attributes(R"({"s": [{"exists": true}]})", {{"t", "x"}}));
  EXPECT_TRUE(takes_attributes(R"({"s": [{"exists": false}]})", {{"t", "x"}}));
  EXPECT_FALSE(takes_attributes(R"({"s": [{"exists": false}]})", {{"s", "x"}}));
}

TEST(filter_policy, a_missing_attribute_matches_only_exists_false) {
  for (auto p : {R"({"s": ["x"]})", R"({"s": [5]})", R"({"s": [{"prefix": ""}]})",
                 R"({"s": [{"suffix": ""}]})", R"({"s": [{"equals-ignore-case": ""}]})",
                 R"({"s": [{"numeric": [">", 0]}]})", R"({"s": [{"anything-but": "x"}]})"})
    EXPECT_FALSE(takes_attributes(p, {{"other", "x"}})) << p;
  auto either = R"({"s": ["x", {"exists": false}]})";
  EXPECT_TRUE(takes_attributes(either, {}));
  EXPECT_TRUE(takes_attributes(either, {{"s", "x"}}));
  EXPECT_FALSE(takes_attributes(either, {{"s", "y"}}));
}

TEST(filter_policy, attribute_text_that_looks_like_a_json_array_is_plain_text) {
  EXPECT_FALSE(takes_attributes(R"({"tags": ["red"]})", {{"tags", R"(["red", "blue"])"}}));
  EXPECT_TRUE(takes_attributes(R"({"tags": ["[\"red\"]"]})", {{"tags", R"(["red"])"}}));
}

TEST(filter_policy, a_repeated_attribute_is_read_at_its_first_occurrence) {
  EXPECT_TRUE(takes_attributes(R"({"k": ["a"]})", {{"k", "a"}, {"k", "b"}}));
  EXPECT_FALSE(takes_attributes(R"({"k": ["b"]})", {{"k", "a"}, {"k", "b"}}));
}

TEST(filter_policy, or_takes_any_of_several_policies_anded_with_the_keys_beside_it) {
  auto p = R"({"$or": [{"a": ["1"]}, {"b": ["2"], "c": ["3"]}]})";
  EXPECT_TRUE(takes_attributes(p, {{"a", "1"}}));
  EXPECT_TRUE(takes_attributes(p, {{"b", "2"}, {"c", "3"}}));
  EXPECT_FALSE(takes_attributes(p, {{"b", "2"}}));
  EXPECT_FALSE(takes_attributes(p, {{"a", "2"}}));
  auto beside = R"({"k": ["x"], "$or": [{"a": ["1"]}, {"b": ["2"]}]})";
  EXPECT_TRUE(takes_attributes(beside, {{"k", "x"}, {"b", "2"}}));
  EXPECT_FALSE(takes_attributes(beside, {{"b", "2"}}));
  EXPECT_FALSE(takes_attributes(beside, {{"k", "x"}}));
  EXPECT_TRUE(takes_attributes(R"({"$or": [{"a": ["1"]}]})", {{"a", "1"}}));
}

TEST(filter_policy, ors_nest_inside_ors) {
  auto p = R"({"$or": [{"a": ["1"]}, {"$or": [{"b": ["2"]}, {"c": ["3"]}]}]})";
  EXPECT_TRUE(takes_attributes(p, {{"c", "3"}}));
  EXPECT_FALSE(takes_attributes(p, {{"d", "4"}}));
}

TEST(filter_policy, an_attribute_policy_ignores_the_body) {
  auto p = filter_policy::parse(R"({"kind": ["paid"]})", filter_scope::attributes);
  ASSERT_TRUE(p);
  attribute_list attributes{{"kind", "paid"}};
  filter_input in{attributes, "not json at all"};
  EXPECT_TRUE(p->matches(in));
}

// --- body scope ------------------------------------------------------------------------------

TEST(filter_policy, body_strings_match_string_conditions) {
  EXPECT_TRUE(takes_body(R"({"kind": ["paid"]})", R"({"kind": "paid"})"));
  EXPECT_FALSE(takes_body(R"({"kind": ["paid"]})", R"({"kind": "unpaid"})"));
  EXPECT_TRUE(takes_body(R"({"id": [{"prefix": "ord-"}]})", R"({"id": "ord-1"})"));
  EXPECT_TRUE(takes_body(R"({"f": [{"suffix": ".png"}]})", R"({"f": "a.png"})"));
  EXPECT_TRUE(takes_body(R"({"k": [{"equals-ignore-case": "PAID"}]})", R"({"k": "paid"})"));
  EXPECT_FALSE(takes_body(R"({"id": [{"prefix": "1"}]})", R"({"id": 12})"))
      << "string operators do not look at numbers";
}

TEST(filter_policy, body_numbers_match_numbers_and_strings_do_not) {
  EXPECT_TRUE(takes_body(R"({"n": [5]})", R"({"n": 5})"));
  EXPECT_TRUE(takes_body(R"({"n": [5]})", R"({"n": 5.0})"));
  EXPECT_FALSE(takes_body(R"({"n": [5]})", R"({"n": "5"})")) << "as in SNS";
  EXPECT_FALSE(takes_body(R"({"n": ["5"]})", R"({"n": 5})"));
  auto range = R"({"n": [{"numeric": [">=", 0, "<", 100]}]})";
  EXPECT_TRUE(takes_body(range, R"({"n": 0})"));
  EXPECT_TRUE(takes_body(range, R"({"n": 99.9})"));
  EXPECT_FALSE(takes_body(range, R"({"n": 100})"));
  EXPECT_FALSE(takes_body(range, R"({"n": "50"})"));
  EXPECT_TRUE(takes_body(R"({"n": [{"numeric": ["<", 0]}]})", R"({"n": -18446744073709551615})"));
}

TEST(filter_policy, body_literals_true_false_and_null_match_those_json_values) {
  EXPECT_TRUE(takes_body(R"({"gift": [true]})", R"({"gift": true})"));
  EXPECT_FALSE(takes_body(R"({"gift": [true]})", R"({"gift": false})"));
  EXPECT_FALSE(takes_body(R"({"gift": [true]})", R"({"gift": "true"})"));
  EXPECT_TRUE(takes_body(R"({"gift": [false]})", R"({"gift": false})"));
  EXPECT_FALSE(takes_body(R"({"gift": ["true"]})", R"({"gift": true})"));
  EXPECT_TRUE(takes_body(R"({"note": [null]})", R"({"note": null})"));
  EXPECT_FALSE(takes_body(R"({"note": [null]})", R"({"other": 1})")) << "missing is not null";
  EXPECT_FALSE(takes_body(R"({"note": [null]})", R"({"note": "null"})"));
}

TEST(filter_policy, body_anything_but_keeps_json_types_apart) {
  auto p = R"({"n": [{"anything-but": [1, "a"]}]})";
  EXPECT_TRUE(takes_body(p, R"({"n": 3})"));
  EXPECT_FALSE(takes_body(p, R"({"n": 1.0})"));
  EXPECT_FALSE(takes_body(p, R"({"n": "a"})"));
  EXPECT_TRUE(takes_body(p, R"({"n": "1"})")) << "the string \"1\" is not the number 1";
  EXPECT_TRUE(takes_body(p, R"({"n": true})"));
  EXPECT_FALSE(takes_body(p, R"({"m": 3})")) << "a missing field is not 'anything but'";
  EXPECT_FALSE(takes_body(R"({"s": [{"anything-but": {"prefix": "x"}}]})", R"({"s": "xy"})"));
  EXPECT_TRUE(takes_body(R"({"s": [{"anything-but": {"suffix": "x"}}]})", R"({"s": "xy"})"));
}

TEST(filter_policy, body_exists_checks_for_a_field) {
  EXPECT_TRUE(takes_body(R"({"a": [{"exists": true}]})", R"({"a": 0})"));
  EXPECT_TRUE(takes_body(R"({"a": [{"exists": true}]})", R"({"a": null})"));
  EXPECT_FALSE(takes_body(R"({"a": [{"exists": true}]})", R"({"b": 0})"));
  EXPECT_TRUE(takes_body(R"({"a": [{"exists": false}]})", R"({"b": 0})"));
  EXPECT_FALSE(takes_body(R"({"a": [{"exists": false}]})", R"({"a": ""})"));
}

TEST(filter_policy, nested_policy_objects_descend_into_nested_fields) {
  auto p = R"({"order": {"status": ["shipped"], "total": [{"numeric": [">=", 100]}]}})";
  EXPECT_TRUE(takes_body(p, R"({"order": {"status": "shipped", "total": 120}, "x": 1})"));
  EXPECT_FALSE(takes_body(p, R"({"order": {"status": "shipped", "total": 99}})"));
  EXPECT_FALSE(takes_body(p, R"({"order": {"status": "shipped"}})"));
  EXPECT_FALSE(takes_body(p, R"({"order": "shipped"})"));
  EXPECT_FALSE(takes_body(p, R"({"status": "shipped", "total": 120})"));
  auto deep = R"({"a": {"b": {"c": {"d": ["x"]}}}})";
  EXPECT_TRUE(takes_body(deep, R"({"a": {"b": {"c": {"d": "x"}}}})"));
  EXPECT_FALSE(takes_body(deep, R"({"a": {"b": {"c": {"d": "y"}}}})"));
}

TEST(filter_policy, a_key_with_conditions_finds_no_value_in_a_nested_object) {
  EXPECT_FALSE(takes_body(R"({"a": [{"exists": true}]})", R"({"a": {"b": 1}})"));
  EXPECT_TRUE(takes_body(R"({"a": [{"exists": false}]})", R"({"a": {"b": 1}})"));
}

TEST(filter_policy, exists_false_below_a_missing_parent_matches) {
  auto p = R"({"a": {"b": [{"exists": false}]}})";
  EXPECT_TRUE(takes_body(p, R"({"x": 1})"));
  EXPECT_TRUE(takes_body(p, R"({"a": 5})"));
  EXPECT_TRUE(takes_body(p, R"({"a": {"c": 1}})"));
  EXPECT_FALSE(takes_body(p, R"({"a": {"b": 1}})"));
}

TEST(filter_policy, a_body_array_matches_when_any_element_matches) {
  EXPECT_TRUE(takes_body(R"({"tags": ["red"]})", R"({"tags": ["blue", "red"]})"));
  EXPECT_FALSE(takes_body(R"({"tags": ["red"]})", R"({"tags": ["blue"]})"));
  EXPECT_TRUE(takes_body(R"({"n": [{"numeric": [">", 10]}]})", R"({"n": [1, 20]})"));
  EXPECT_TRUE(takes_body(R"({"n": [{"anything-but": 1}]})", R"({"n": [1, 2]})"));
  EXPECT_FALSE(takes_body(R"({"n": [{"anything-but": 1}]})", R"({"n": [1, 1]})"));
  EXPECT_FALSE(takes_body(R"({"tags": ["red"]})", R"({"tags": [["red"]]})"))
      << "arrays inside arrays are not searched";
}

TEST(filter_policy, an_empty_body_array_counts_as_a_missing_field) {
  EXPECT_FALSE(takes_body(R"({"tags": [{"exists": true}]})", R"({"tags": []})"));
  EXPECT_TRUE(takes_body(R"({"tags": [{"exists": false}]})", R"({"tags": []})"));
  EXPECT_TRUE(takes_body(R"({"tags": [{"exists": true}]})", R"({"tags": ["x"]})"));
}

TEST(filter_policy, an_array_of_objects_matches_when_one_element_matches_the_nested_policy) {
  auto p = R"({"items": {"sku": ["A"], "qty": [{"numeric": [">", 1]}]}})";
  EXPECT_TRUE(takes_body(p, R"({"items": [{"sku": "B", "qty": 5}, {"sku": "A", "qty": 2}]})"));
  EXPECT_FALSE(takes_body(p, R"({"items": [{"sku": "B", "qty": 5}, {"sku": "A", "qty": 1}]})"))
      << "each element must match the whole nested policy on its own";
  EXPECT_FALSE(takes_body(p, R"({"items": []})"));
}

TEST(filter_policy, or_works_in_bodies_and_inside_nested_objects) {
  auto top = R"({"$or": [{"a": [1]}, {"b": {"c": ["x"]}}]})";
  EXPECT_TRUE(takes_body(top, R"({"a": 1})"));
  EXPECT_TRUE(takes_body(top, R"({"b": {"c": "x"}})"));
  EXPECT_FALSE(takes_body(top, R"({"c": "x"})"));
  auto nested = R"({"order": {"kind": ["paid"], "$or": [{"total": [{"numeric": [">", 100]}]},
                                                     {"vip": [true]}]}})";
  EXPECT_TRUE(takes_body(nested, R"({"order": {"kind": "paid", "total": 500}})"));
  EXPECT_TRUE(takes_body(nested, R"({"order": {"kind": "paid", "total": 5, "vip": true}})"));
  EXPECT_FALSE(takes_body(nested, R"({"order": {"kind": "paid", "total": 5}})"));
  EXPECT_FALSE(takes_body(nested, R"({"order": {"kind": "free", "total": 500}})"));
}

TEST(filter_policy, a_body_that_is_not_a_json_object_matches_no_body_policy) {
  for (auto body : {"not json", "", "[1, 2]", R"("text")", "5", "null", R"({"a": )"}) {
    EXPECT_FALSE(takes_body(R"({"a": [{"exists": false}]})", body)) << body;
    EXPECT_FALSE(takes_body(R"({"a": [{"anything-but": "x"}]})", body)) << body;
  }
}

TEST(filter_policy, a_body_policy_ignores_attributes) {
  auto p = filter_policy::parse(R"({"kind": ["paid"]})", filter_scope::body);
  ASSERT_TRUE(p);
  attribute_list attributes{{"kind", "paid"}};
  filter_input in{attributes, R"({"kind": "free"})"};
  EXPECT_FALSE(p->matches(in));
}

TEST(filter_policy, one_input_serves_many_policies_of_both_scopes) {
  attribute_list attributes{{"region", "eu"}};
  filter_input in{attributes, R"({"kind": "paid", "total": 12})"};
  auto by_kind = filter_policy::parse(R"({"kind": ["paid"]})", filter_scope::body);
  auto by_total =
      filter_policy::parse(R"({"total": [{"numeric": [">", 50]}]})", filter_scope::body);
  auto by_region = filter_policy::parse(R"({"region": ["eu"]})", filter_scope::attributes);
  ASSERT_TRUE(by_kind && by_total && by_region);
  for (int round = 0; round < 2; ++round) {
    EXPECT_TRUE(by_kind->matches(in));
    EXPECT_FALSE(by_total->matches(in));
    EXPECT_TRUE(by_region->matches(in));
  }
}

TEST(filter_policy, keeps_its_scope_and_compact_text_and_copies_share_the_rule) {
  auto p = filter_policy::parse("{ \"kind\" : [ \"paid\" ,\n 5 ] }", filter_scope::body);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->scope(), filter_scope::body);
  EXPECT_EQ(p->text(), R"({"kind":["paid",5]})");
  filter_policy copy = *p;
  attribute_list none;
  filter_input in{none, R"({"kind": 5})"};
  EXPECT_TRUE(copy.matches(in));
}

// --- limits ----------------------------------------------------------------------------------

TEST(filter_policy, at_most_five_keys_counting_nested_keys) {
  EXPECT_TRUE(filter_policy::parse(R"({"a": [1], "b": [1], "c": [1], "d": [1], "e": [1]})",
                                   filter_scope::attributes));
  EXPECT_TRUE(refused(R"({"a": [1], "b": [1], "c": [1], "d": [1], "e": [1], "f": [1]})",
                      "names 6 keys; at most 5 are allowed"));
  EXPECT_TRUE(refused_in_body(
      R"({"a": [1], "b": [1], "c": [1], "d": {"e": [1], "f": [1]}, "g": [1]})", "names 6 keys"));
}

TEST(filter_policy, each_or_policy_counts_its_keys_with_the_keys_beside_it) {
  EXPECT_TRUE(filter_policy::parse(
      R"({"a": [1], "b": [1], "$or": [{"c": [1], "d": [1], "e": [1]}, {"f": [1], "g": [1]}]})",
      filter_scope::attributes))
      << "2 beside + 3 in the largest branch";
  EXPECT_TRUE(refused(
      R"({"a": [1], "b": [1], "$or": [{"c": [1], "d": [1], "e": [1], "f": [1]}, {"g": [1]}]})",
      "names 6 keys"));
}

TEST(filter_policy, at_most_150_combinations_of_values) {
  // 10 * 15 = 150 combinations is the most allowed; 151 in one key is refused.
  auto at_limit = "{" + key_with_conditions("a", 10) + ", " + key_with_conditions("b", 15) + "}";
  EXPECT_TRUE(filter_policy::parse(at_limit, filter_scope::attributes));
  auto over = "{" + key_with_conditions("a", 10) + ", " + key_with_conditions("b", 16) + "}";
  EXPECT_TRUE(refused(over, "has 160 combinations of values; at most 150"));
  EXPECT_TRUE(refused("{" + key_with_conditions("a", 151) + "}", "has 151 combinations"));
}

TEST(filter_policy, or_policies_sum_their_combinations) {
  auto sum = [](int left, int right) {
    return R"({"k": [1, 2], "$or": [{)" + key_with_conditions("a", left) + "}, {" +
           key_with_conditions("b", right) + "}]}";
  };
  EXPECT_TRUE(filter_policy::parse(sum(40, 35), filter_scope::attributes)); // 2 * (40 + 35)
  EXPECT_TRUE(refused(sum(40, 36), "has 152 combinations"));
}

TEST(filter_policy, a_huge_product_of_combinations_is_refused_without_overflow) {
  std::string p = "{";
  for (int k = 0; k < 5; ++k)
    p += (k ? ", " : "") + key_with_conditions("k" + std::to_string(k), 1000);
  p += "}";
  ASSERT_LT(p.size(), 256u * 1024);
  EXPECT_TRUE(refused(p, "has over 1000000000 combinations"));
}

TEST(filter_policy, objects_nest_at_most_five_deep) {
  EXPECT_TRUE(
      filter_policy::parse(R"({"a": {"b": {"c": {"d": {"e": ["x"]}}}}})", filter_scope::body));
  EXPECT_TRUE(refused_in_body(R"({"a": {"b": {"c": {"d": {"e": {"f": ["x"]}}}}}})",
                              "key 'a.b.c.d.e': objects nest deeper than 5 levels"));
  EXPECT_TRUE(refused_in_body(R"({"a": {"b": {"c": {"d": {"$or": [{"e": ["x"]}]}}}}})",
                              "deeper than 5 levels"))
      << "a '$or' policy is a level";
}

TEST(filter_policy, deep_nesting_is_refused_not_recursed_into) {
  std::string p;
  for (int i = 0; i < 40000; ++i)
    p += R"({"a":)";
  p += R"(["x"])" + std::string(40000, '}');
  ASSERT_LT(p.size(), 256u * 1024);
  EXPECT_TRUE(refused_in_body(p, "deeper than 5 levels"));
}

TEST(filter_policy, policies_over_256_kib_are_refused) {
  std::string big = R"({"a": [")" + std::string(256 * 1024, 'x') + R"("]})";
  EXPECT_TRUE(refused(big, "at most 262144 (256 KiB)"));
  EXPECT_TRUE(filter_policy::parse(R"({"a": [")" + std::string(200 * 1024, 'x') + R"("]})",
                                   filter_scope::attributes));
}

// --- refused policies ------------------------------------------------------------------------

TEST(filter_policy, text_that_is_not_json_is_refused_with_the_parsers_reason) {
  EXPECT_TRUE(refused("{not json", "is not valid JSON: "));
  EXPECT_TRUE(refused("{not json", "parse error at line 1"));
  EXPECT_TRUE(refused("", "is not valid JSON"));
  EXPECT_TRUE(refused(R"({"a": [1e999]})", "is not valid JSON"));
}

TEST(filter_policy, a_policy_is_a_non_empty_object) {
  EXPECT_TRUE(refused("[1, 2]", "must be a JSON object, got [1, 2]"));
  EXPECT_TRUE(refused(R"("kind")", "must be a JSON object, got \"kind\""));
  EXPECT_TRUE(refused("{}", "the policy is empty; it needs at least one key"));
  EXPECT_TRUE(refused_in_body(R"({"a": {}})", "key 'a': the nested object is empty"));
}

TEST(filter_policy, each_key_needs_a_non_empty_array_of_conditions) {
  EXPECT_TRUE(refused(R"({"kind": "paid"})",
                      "key 'kind': conditions must be in an array, e.g. [\"paid\"], got \"paid\""));
  EXPECT_TRUE(refused(R"({"n": 5})", "key 'n': conditions must be in an array"));
  EXPECT_TRUE(refused(R"({"kind": []})", "key 'kind': needs at least one condition"));
  EXPECT_TRUE(refused(R"({"kind": [["paid"]]})",
                      "key 'kind': a condition is a string, a number, true, false, null or an "
                      "operator object, got [\"paid\"]"));
}

TEST(filter_policy, unknown_operators_and_objects_with_several_operators_are_refused) {
  EXPECT_TRUE(refused(R"({"k": [{"foo": 1}]})", "key 'k': unknown operator 'foo'"));
  EXPECT_TRUE(refused(R"({"k": [{"Prefix": "a"}]})", "unknown operator 'Prefix'"));
  EXPECT_TRUE(refused(R"({"k": [{"cidr": "10.0.0.0/24"}]})", "operator 'cidr' is not supported"));
  EXPECT_TRUE(refused(R"({"k": [{"prefix": "a", "suffix": "b"}]})",
                      "an operator object holds exactly one operator, got {\"prefix\": \"a\", "
                      "\"suffix\": \"b\"}"));
  EXPECT_TRUE(refused(R"({"k": [{}]})", "exactly one operator, got {}"));
}

TEST(filter_policy, prefix_suffix_and_equals_ignore_case_need_strings) {
  EXPECT_TRUE(refused(R"({"k": [{"prefix": 1}]})", "key 'k': 'prefix' needs a string, got 1"));
  EXPECT_TRUE(refused(R"({"k": [{"suffix": ["a"]}]})", "'suffix' needs a string, got [\"a\"]"));
  EXPECT_TRUE(refused(R"({"k": [{"equals-ignore-case": null}]})",
                      "'equals-ignore-case' needs a string, got null"));
}

TEST(filter_policy, numeric_conditions_need_an_operator_and_a_number) {
  EXPECT_TRUE(refused(R"({"price": [{"numeric": [">", "x"]}]})",
                      "key 'price': numeric condition [\">\", \"x\"] needs a number after '>'"));
  EXPECT_TRUE(refused(R"({"k": [{"numeric": ["!=", 1]}]})",
                      "has unknown operator '!=' (expected =, <, <=, >, >=)"));
  EXPECT_TRUE(refused(R"({"k": [{"numeric": [1, ">"]}]})", "needs an operator"));
  EXPECT_TRUE(refused(R"({"k": [{"numeric": ">"}]})", "must be [op, number]"));
  EXPECT_TRUE(refused(R"({"k": [{"numeric": [">"]}]})", "must be [op, number]"));
  EXPECT_TRUE(refused(R"({"k": [{"numeric": [">", 1, "<"]}]})", "must be [op, number]"));
  EXPECT_TRUE(refused(R"({"k": [{"numeric": [">", 1, "<", 2, ">"]}]})", "must be [op, number]"));
}

TEST(filter_policy, numeric_ranges_go_from_a_lower_to_a_higher_upper_bound) {
  EXPECT_TRUE(refused(R"({"k": [{"numeric": [">", 10, "<", 1]}]})",
                      "has its lower bound above its upper bound"));
  EXPECT_TRUE(
      refused(R"({"k": [{"numeric": ["<", 10, ">", 1]}]})", "must start with the lower bound"));
  EXPECT_TRUE(
      refused(R"({"k": [{"numeric": [">", 1, ">", 10]}]})", "must end with the upper bound"));
  EXPECT_TRUE(refused(R"({"k": [{"numeric": ["=", 1, "<", 10]}]})", "cannot use '=' in a range"));
  EXPECT_TRUE(refused(R"({"k": [{"numeric": [">", 5, "<=", 5]}]})", "matches no number"));
}

TEST(filter_policy, exists_needs_a_boolean) {
  EXPECT_TRUE(refused(R"({"k": [{"exists": "yes"}]})", "key 'k': 'exists' needs true or false, "
                                                       "got \"yes\""));
  EXPECT_TRUE(refused(R"({"k": [{"exists": 1}]})", "'exists' needs true or false, got 1"));
}

TEST(filter_policy, anything_but_needs_values_or_one_prefix_or_suffix) {
  EXPECT_TRUE(refused(R"({"k": [{"anything-but": []}]})",
                      "key 'k': 'anything-but' needs at least one value"));
  EXPECT_TRUE(refused(R"({"k": [{"anything-but": {"numeric": [">", 1]}}]})",
                      "'anything-but' takes a string, a number, an array of them, or "
                      "{\"prefix\": text} or {\"suffix\": text}"));
  EXPECT_TRUE(refused(R"({"k": [{"anything-but": {"prefix": "a", "suffix": "b"}}]})",
                      "'anything-but' takes"));
  EXPECT_TRUE(
      refused(R"({"k": [{"anything-but": ["a", {"prefix": "b"}]}]})", "'anything-but' takes"));
  EXPECT_TRUE(refused(R"({"k": [{"anything-but": [true]}]})", "got true"));
  EXPECT_TRUE(refused(R"({"k": [{"anything-but": {"prefix": 1}}]})",
                      "'anything-but' 'prefix' needs a string, got 1"));
}

TEST(filter_policy, nested_objects_and_literals_are_refused_in_attribute_scope) {
  EXPECT_TRUE(refused(R"({"order": {"kind": ["paid"]}})",
                      "key 'order': a nested object matches a field of a JSON body, but this "
                      "policy's scope is message attributes"));
  EXPECT_TRUE(refused(R"({"gift": [true]})", "key 'gift': true matches JSON bodies only"));
  EXPECT_TRUE(refused(R"({"note": [null]})", "null matches JSON bodies only"));
}

TEST(filter_policy, or_needs_a_non_empty_array_of_policy_objects) {
  EXPECT_TRUE(refused(R"({"$or": {"a": ["1"]}})", "'$or' needs a non-empty array of policy "
                                                  "objects, got {\"a\": [\"1\"]}"));
  EXPECT_TRUE(refused(R"({"$or": []})", "'$or' needs a non-empty array"));
  EXPECT_TRUE(refused(R"({"$or": [{"a": ["1"]}, ["b"]]})", "got [\"b\"] in it"));
  EXPECT_TRUE(refused(R"({"$or": [{"a": ["1"]}, {}]})", "a '$or' policy is empty"));
  EXPECT_TRUE(refused(R"({"$or": [{"a": [{"foo": 1}]}]})", "key 'a': unknown operator 'foo'"));
}

TEST(filter_policy, errors_name_the_nested_key_path) {
  EXPECT_TRUE(refused_in_body(R"({"order": {"total": [{"numeric": [">", "x"]}]}})",
                              "key 'order.total': numeric condition"));
  EXPECT_TRUE(refused_in_body(R"({"order": {"$or": [{"total": "x"}]}})",
                              "key 'order.total': conditions must be in an array"));
}

TEST(filter_policy, errors_show_a_long_value_cut_short) {
  auto p = filter_policy::parse(R"({"k": [{"prefix": [")" + std::string(10000, 'x') + R"("]}]})",
                                filter_scope::attributes);
  ASSERT_FALSE(p);
  EXPECT_LT(message_of(p.error()).size(), 200u) << message_of(p.error());
}
