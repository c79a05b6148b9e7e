// The AWS query protocol's pieces against the published vectors
// (../shared/reference/sqs-sns-compat.md §3.2 and §6).
#include "mailroom/aws/form.hpp"
#include "mailroom/aws/md5.hpp"
#include "mailroom/aws/sigv4.hpp"
#include "mailroom/aws/xml_writer.hpp"
#include "mailroom/arn.hpp"

#include <gtest/gtest.h>

using namespace mailroom::aws;

TEST(AwsForm, DecodesFieldsListsAndEntries) {
  auto f = form::parse("Action=SendMessage&MessageBody=a+b%26c%3D%0D%0A&"
                       "AttributeName.1=All&AttributeName.2=Policy&"
                       "MessageAttribute.2.Name=y&MessageAttribute.1.Name=x&"
                       "MessageAttribute.1.Value.StringValue=1&");
  ASSERT_TRUE(f) << to_string(f.error());
  EXPECT_EQ(f->get("Action"), "SendMessage");
  EXPECT_EQ(f->get("MessageBody"), "a b&c=\r\n");
  EXPECT_EQ(f->list("AttributeName"), (std::vector<std::string>{"All", "Policy"}));
  EXPECT_EQ(f->entries("MessageAttribute"), (std::vector<unsigned>{1, 2}));
  EXPECT_FALSE(f->has("Missing"));
}

TEST(AwsForm, RefusesMalformedEscapesRepeatsAndFloods) {
  for (auto bad : {"a=%zz", "a=%4", "a=1&a=2", "=1"}) {
    auto f = form::parse(bad);
    EXPECT_FALSE(f) << bad;
  }
  std::string flood;
  for (size_t i = 0; i <= form::max_fields; ++i)
    flood += "k" + std::to_string(i) + "=v&";
  auto f = form::parse(flood);
  ASSERT_FALSE(f);
  EXPECT_NE(to_string(f.error()).find("more than"), std::string::npos);
}

TEST(AwsXml, EscapesMarkupAndCarriageReturns) {
  xml_writer w("SendMessageResponse", "http://queue.amazonaws.com/doc/2012-11-05/");
  w.open("SendMessageResult");
  w.leaf("Body", "<a & \"b\">\r\n");
  EXPECT_EQ(w.finish(), "<?xml version=\"1.0\"?><SendMessageResponse "
                        "xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\"><SendMessageResult>"
                        "<Body>&lt;a &amp; &quot;b&quot;&gt;&#xD;\n</Body></SendMessageResult>"
                        "</SendMessageResponse>");
}

TEST(AwsXml, KnowsWhatXmlCannotCarry) {
  EXPECT_TRUE(xml_representable("plain \t\r\n text, \xc3\xa9 \xf0\x9f\x98\x80"));
  size_t at = 0;
  EXPECT_FALSE(xml_representable(std::string("ok\x01", 3), &at));
  EXPECT_EQ(at, 2u);
  EXPECT_FALSE(xml_representable("\xff"));         // not UTF-8
  EXPECT_FALSE(xml_representable("\xed\xa0\x80")); // a surrogate
  EXPECT_FALSE(xml_representable("\xef\xbf\xbe")); // U+FFFE
  EXPECT_FALSE(xml_representable("\xe0\x80\xaf")); // overlong
  EXPECT_FALSE(xml_representable("\xc3"));         // cut short
}

TEST(AwsMd5, BodyDigestsMatchSqs) {
  EXPECT_EQ(md5_hex("{\"order_id\": 1, \"type\": \"order.created\"}"),
            "2fa6bd830fef26e84828f4ac2ce957dc");
  EXPECT_EQ(md5_hex("This is a test message"), "fafb00f5732ab283681e124bf8747ed1");
  EXPECT_EQ(md5_hex("x"), "9dd4e461268c8034f5c8564e155c67a6");
}

TEST(AwsMd5, AttributeDigestsMatchSqs) {
  EXPECT_EQ(attributes_md5({{"timestamp", "1493147359900", "Number"}}),
            "235c5c510d26fb653d073faed50ae77c");
  EXPECT_EQ(attributes_md5({{"timestamp", "1493147359901", "Number"}}),
            "994258b45346a2cc3f9cbb611aa7af30");
  EXPECT_EQ(attributes_md5({{"SOME_Valid.attribute-Name", "1493147359900", "Number"}}),
            "36655e7e9d7c0e8479fa3f3f42247ae7");
  EXPECT_EQ(attributes_md5({{"RetryCount", "1", "Number"}}), "3b1fc0d1989c07478144fe9e384208a1");
  // String is the default type: stored as empty, hashed by its name.
  EXPECT_EQ(attributes_md5({{"type", "order.created"}}), "2862df9b1c27b502ff63d6a9272405ea");
  EXPECT_EQ(attributes_md5({{"type", "order.created", "String"}}),
            "2862df9b1c27b502ff63d6a9272405ea");
  // Sorted by name whatever the order sent.
  EXPECT_EQ(attributes_md5(
                {{"RetryCount", "1", "Number"}, {"Bin", std::string("\x00\x01", 2), "Binary"}}),
            "56e778bb5ec842467816d0448bfff82a");
}

TEST(AwsSigV4, SignsLikeBotocore) {
  auto auth = parse_authorization(
      "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/sqs/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date, "
      "Signature=0a34dd32e4fe1024bccd4f9d0ddcb7d0ea690017a50b784731da736c755a763c");
  ASSERT_TRUE(auth) << to_string(auth.error());
  EXPECT_EQ(auth->access_key, "test");
  EXPECT_EQ(auth->region, "us-east-1");
  EXPECT_EQ(auth->service, "sqs");
  signed_request r;
  r.method = "POST";
  r.path = "/";
  r.headers = {{"content-type", "application/x-www-form-urlencoded; charset=utf-8"},
               {"host", "127.0.0.1:9324"},
               {"x-amz-date", "20240101T000000Z"},
               {"user-agent", "not signed"}};
  r.body = "Action=GetQueueUrl&Version=2012-11-05&QueueName=orders";
  r.amz_date = "20240101T000000Z";
  EXPECT_EQ(sha256_hex(r.body), "0b5360297a34e92551cc72ecf20e1c1ec6f673e90c03a36b9200174be2e7ebef");
  EXPECT_EQ(sigv4_signature(*auth, "test", r), auth->signature);
  EXPECT_NE(sigv4_signature(*auth, "wrong", r), auth->signature);
  EXPECT_EQ(parse_amz_date("20240101T000000Z"), 1704067200000);
  EXPECT_EQ(parse_amz_date("2024-01-01"), -1);
}

TEST(AwsSigV4, RefusesMalformedHeadersByName) {
  for (auto bad :
       {"Basic abc", "AWS4-HMAC-SHA256 Credential=a/b/c, SignedHeaders=host, Signature=1",
        "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00", "AWS4-HMAC-SHA256 Credential"}) {
    EXPECT_FALSE(parse_authorization(bad)) << bad;
  }
}

TEST(AwsArn, AnSqsQueueArnNamesItsQueueAndNothingElseDoes) {
  using mailroom::queue_of_sqs_arn;
  EXPECT_EQ(queue_of_sqs_arn("arn:aws:sqs:eu-west-1:210987654321:orders-dlq"), "orders-dlq");
  EXPECT_FALSE(queue_of_sqs_arn("orders-dlq")) << "a bare name is not an ARN";
  EXPECT_FALSE(queue_of_sqs_arn("arn:aws:sns:us-east-1:123456789012:topic"));
  EXPECT_FALSE(queue_of_sqs_arn("arn:aws:sqs:us-east-1:123456789012:"));
  EXPECT_FALSE(queue_of_sqs_arn(""));
}
