// UTF-8 validation and base64: what keeps every JSON output lossless for binary bodies.
#include "mailroom/text_encoding.hpp"

#include <gtest/gtest.h>

using namespace mailroom;

TEST(text_encoding, well_formed_utf8_is_told_from_bytes_that_are_not) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("gr\xC3\xBC\xC3\x9F"
                            "e \xE2\x82\xAC \xF0\x9F\x93\xAC"));
  EXPECT_FALSE(is_valid_utf8("\xFF"));
  EXPECT_FALSE(is_valid_utf8("\x80"));             // a lone continuation byte
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));         // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));     // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));     // a surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80")); // past U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE2\x82"));         // cut short
  EXPECT_FALSE(is_valid_utf8(std::string_view{"a\0\xFF", 3}));
}

TEST(text_encoding, base64_is_the_standard_padded_form) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode(std::string_view{"\xFF\x00\xFE", 3}), "/wD+");
}

TEST(text_encoding, base64_decodes_what_it_encodes_and_nothing_else) {
  for (std::string bytes : {std::string{}, std::string{"f"}, std::string{"fo"}, std::string{"foo"},
                            std::string{"\xFF\x00\xFE\x01", 4}})
    EXPECT_EQ(base64_decode(base64_encode(bytes)), bytes);
  for (auto bad : {"Zg=", "Z===", "Zg=a", "Zm9v!", "Zm 9", "=Zm9"})
    EXPECT_FALSE(base64_decode(bad)) << bad;
}
