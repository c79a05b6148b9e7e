"""The SNS face of a real mailroomd, through Debian 12's boto3: topics, subscriptions to SQS
queues, and what a publish delivers (the notification envelope, raw delivery, filters).

Run by ctest as: /usr/bin/python3 sns_test.py MAILROOMD AWS_CLI MAILROOM_CLI.
"""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mailroom_node  # noqa: E402
from mailroom_node import Node, NodeTest, error_code  # noqa: E402

ARN_SQS = "arn:aws:sqs:us-east-1:123456789012:"


class SnsThroughBoto3(NodeTest):
    def queue(self, name):
        return self.sqs.create_queue(QueueName=name)["QueueUrl"]

    def receive_all(self, url, want):
        got = []
        while len(got) < want:
            batch = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5,
                                             MessageAttributeNames=["All"]).get("Messages", [])
            self.assertTrue(batch, "expected %d messages, got %d" % (want, len(got)))
            got += batch
        return got

    def test_topics_are_idempotent_listed_and_deleted(self):
        arn = self.sns.create_topic(Name="life")["TopicArn"]
        self.assertEqual(arn, "arn:aws:sns:us-east-1:123456789012:life")
        self.assertEqual(self.sns.create_topic(Name="life")["TopicArn"], arn)
        self.assertIn(arn, [t["TopicArn"] for t in self.sns.list_topics()["Topics"]])
        attrs = self.sns.get_topic_attributes(TopicArn=arn)["Attributes"]
        self.assertEqual(attrs["TopicArn"], arn)
        self.assertEqual(attrs["SubscriptionsConfirmed"], "0")
        self.sns.delete_topic(TopicArn=arn)
        self.sns.delete_topic(TopicArn=arn)  # not an error (SNS)
        with self.assertRaises(self.sns.exceptions.NotFoundException):
            self.sns.get_topic_attributes(TopicArn=arn)
        eu = self.node.client("sns", region="eu-west-1")
        self.assertEqual(eu.create_topic(Name="regional")["TopicArn"],
                         "arn:aws:sns:eu-west-1:123456789012:regional")

    def test_fan_out_to_three_queues_enveloped_raw_and_filtered(self):
        topic = self.sns.create_topic(Name="orders")["TopicArn"]
        enveloped, raw, filtered = self.queue("env"), self.queue("raw"), self.queue("paid")
        # The endpoint as a queue URL (what the reference patterns pass), an ARN, and a name.
        s1 = self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=enveloped)["SubscriptionArn"]
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:123456789012:raw",
                           Attributes={"RawMessageDelivery": "true"}, ReturnSubscriptionArn=True)
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="paid",
                           Attributes={"FilterPolicy": json.dumps({"kind": ["paid"]}), "RawMessageDelivery": "true"})
        self.assertEqual(s1, topic + ":env")
        attributes = {"kind": {"DataType": "String", "StringValue": "paid"},
                      "n": {"DataType": "Number", "StringValue": "5"},
                      "b": {"DataType": "Binary", "BinaryValue": b"\x01"}}
        published = self.sns.publish(TopicArn=topic, Message='{"order": 1}', Subject="New order",
                                     MessageAttributes=attributes)
        self.sns.publish(TopicArn=topic, Message='{"order": 2}',
                         MessageAttributes={"kind": {"DataType": "String", "StringValue": "quote"}})

        notes = [json.loads(m["Body"]) for m in self.receive_all(enveloped, 2)]
        first = next(n for n in notes if n["Message"] == '{"order": 1}')
        self.assertEqual(first["Type"], "Notification")
        self.assertEqual(first["MessageId"], published["MessageId"])
        self.assertEqual(first["TopicArn"], topic)
        self.assertEqual(first["Subject"], "New order")
        self.assertEqual(first["MessageAttributes"], {"kind": {"Type": "String", "Value": "paid"},
                                                      "n": {"Type": "Number", "Value": "5"},
                                                      "b": {"Type": "Binary", "Value": "AQ=="}})
        for field in ("Timestamp", "SignatureVersion", "Signature", "SigningCertURL", "UnsubscribeURL"):
            self.assertIn(field, first)
        self.assertNotIn("Subject", next(n for n in notes if n is not first))

        raws = self.receive_all(raw, 2)
        one = next(m for m in raws if m["Body"] == '{"order": 1}')
        self.assertEqual(one["MessageAttributes"], attributes)
        self.assertIn("MD5OfMessageAttributes", one)
        paid = self.receive_all(filtered, 1)
        self.assertEqual([m["Body"] for m in paid], ['{"order": 1}'])
        self.assertNotIn("Messages", self.sqs.receive_message(QueueUrl=filtered, WaitTimeSeconds=1))

    def test_the_patterns_alerts_topic_by_its_hard_coded_arn(self):
        self.sns.create_topic(Name="alerts")
        q = self.queue("alerts-log")
        self.sns.subscribe(TopicArn="arn:aws:sns:us-east-1:123456789012:alerts", Protocol="sqs", Endpoint=q)
        self.sns.publish(TopicArn="arn:aws:sns:us-east-1:123456789012:alerts",
                         Message="DLQ threshold exceeded: 1 messages", Subject="DLQ Alert")
        note = json.loads(self.receive_all(q, 1)[0]["Body"])
        self.assertEqual((note["Subject"], note["Message"]), ("DLQ Alert", "DLQ threshold exceeded: 1 messages"))

    def test_publish_without_subscribers_succeeds(self):
        topic = self.sns.create_topic(Name="lonely")["TopicArn"]
        self.assertIn("MessageId", self.sns.publish(TopicArn=topic, Message="anyone?"))

    def test_subscriptions_are_listed_read_changed_and_removed(self):
        topic = self.sns.create_topic(Name="subs")["TopicArn"]
        q = self.queue("subs-q")
        arn = self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=q)["SubscriptionArn"]
        self.assertEqual(self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=q)["SubscriptionArn"], arn)
        listed = self.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        self.assertEqual([(s["SubscriptionArn"], s["Protocol"], s["Endpoint"]) for s in listed],
                         [(arn, "sqs", "arn:aws:sqs:us-east-1:123456789012:subs-q")])
        self.assertIn(arn, [s["SubscriptionArn"] for s in self.sns.list_subscriptions()["Subscriptions"]])
        attrs = self.sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        self.assertEqual((attrs["RawMessageDelivery"], attrs["PendingConfirmation"]), ("false", "false"))
        self.sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="RawMessageDelivery",
                                             AttributeValue="true")
        self.sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicy",
                                             AttributeValue=json.dumps({"size": [{"numeric": [">", 10]}]}))
        self.sns.set_subscription_attributes(SubscriptionArn=arn, AttributeName="FilterPolicyScope",
                                             AttributeValue="MessageBody")
        attrs = self.sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
        self.assertEqual((attrs["RawMessageDelivery"], attrs["FilterPolicyScope"]), ("true", "MessageBody"))
        self.sns.publish(TopicArn=topic, Message=json.dumps({"size": 5}))
        self.sns.publish(TopicArn=topic, Message=json.dumps({"size": 50}))
        self.assertEqual([m["Body"] for m in self.receive_all(q, 1)], ['{"size": 50}'])
        self.sns.unsubscribe(SubscriptionArn=arn)
        self.assertEqual(self.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"], [])
        with self.assertRaises(self.sns.exceptions.NotFoundException):
            self.sns.get_subscription_attributes(SubscriptionArn=arn)

    def test_publish_batch(self):
        topic = self.sns.create_topic(Name="batch")["TopicArn"]
        q = self.queue("batch-q")
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=q, Attributes={"RawMessageDelivery": "true"})
        out = self.sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
            {"Id": "a", "Message": "one"}, {"Id": "b", "Message": "x" * 300000}, {"Id": "c", "Message": "three"}])
        self.assertEqual(sorted(e["Id"] for e in out["Successful"]), ["a", "c"])
        self.assertEqual([(e["Id"], e["Code"]) for e in out["Failed"]], [("b", "InvalidParameter")])
        self.assertEqual(sorted(m["Body"] for m in self.receive_all(q, 2)), ["one", "three"])
        code = error_code(self.sns.publish_batch, TopicArn=topic, PublishBatchRequestEntries=[
            {"Id": "same", "Message": "1"}, {"Id": "same", "Message": "2"}])
        self.assertEqual(code, "BatchEntryIdsNotDistinct")

    def test_a_subscription_redrive_policy_sends_what_its_queue_refuses_to_a_dead_letter_queue(self):
        topic = self.sns.create_topic(Name="redriven")["TopicArn"]
        small = self.queue("redriven-small")
        self.sqs.set_queue_attributes(QueueUrl=small, Attributes={"MaximumMessageSize": "1024"})
        dlq = self.queue("redriven-dlq")
        self.sqs.create_queue(QueueName="redriven.fifo", Attributes={"FifoQueue": "true"})
        policy = json.dumps({"deadLetterTargetArn": ARN_SQS + "redriven-dlq"})
        sub = self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=small, ReturnSubscriptionArn=True,
                                 Attributes={"RawMessageDelivery": "true", "RedrivePolicy": policy})["SubscriptionArn"]
        self.assertEqual(json.loads(self.sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["RedrivePolicy"]),
                         {"deadLetterTargetArn": ARN_SQS + "redriven-dlq"})
        self.sns.publish(TopicArn=topic, Message="x" * 2000)
        got = self.sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=10, AttributeNames=["All"])["Messages"]
        self.assertEqual(got[0]["Body"], "x" * 2000)
        self.assertEqual(got[0]["Attributes"]["DeadLetterQueueSourceArn"], ARN_SQS + "redriven-small")
        self.assertNotIn("Messages", self.sqs.receive_message(QueueUrl=small))
        for bad, named in (('{"deadLetterTargetArn": "%snope"}' % ARN_SQS, "no queue named 'nope'"),
                           ('{"deadLetterTargetArn": "redriven-dlq"}', "not an SQS queue ARN"),
                           ('{"maxReceiveCount": 3}', "just deadLetterTargetArn"), ("{", "JSON object"),
                           ('{"deadLetterTargetArn": "%sredriven.fifo"}' % ARN_SQS, "type")):
            try:
                self.sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RedrivePolicy",
                                                     AttributeValue=bad)
                self.fail("accepted " + bad)
            except self.sns.exceptions.InvalidParameterException as e:
                self.assertIn(named, e.response["Error"]["Message"])
        self.sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RedrivePolicy", AttributeValue="")
        self.assertNotIn("RedrivePolicy", self.sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"])

    def test_display_name_is_kept_and_set(self):
        arn = self.sns.create_topic(Name="named", Attributes={"DisplayName": "Orders"})["TopicArn"]
        self.assertEqual(self.sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"], "Orders")
        self.assertEqual(self.sns.create_topic(Name="named")["TopicArn"], arn, "idempotent without attributes")
        with self.assertRaises(self.sns.exceptions.InvalidParameterException):
            self.sns.create_topic(Name="named", Attributes={"DisplayName": "Other"})
        self.sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Orders v2")
        self.assertEqual(self.sns.get_topic_attributes(TopicArn=arn)["Attributes"]["DisplayName"], "Orders v2")
        for name, value, named in (("Policy", "{}", "Policy"), ("DisplayName", "x" * 101, "DisplayName"),
                                   ("DisplayName", "bell\x07", "DisplayName")):
            try:
                self.sns.set_topic_attributes(TopicArn=arn, AttributeName=name, AttributeValue=value)
                self.fail("accepted %s=%r" % (name, value))
            except self.sns.exceptions.InvalidParameterException as e:
                self.assertIn(named, e.response["Error"]["Message"])
        with self.assertRaises(self.sns.exceptions.NotFoundException):
            self.sns.set_topic_attributes(TopicArn=arn + "-nope", AttributeName="DisplayName", AttributeValue="x")

    def test_bad_input_is_refused_naming_the_problem(self):
        topic = self.sns.create_topic(Name="strict")["TopicArn"]
        self.queue("strict-q")
        with self.assertRaises(self.sns.exceptions.NotFoundException):
            self.sns.publish(TopicArn="arn:aws:sns:us-east-1:123456789012:nope", Message="x")
        cases = [
            (dict(TopicArn=topic, Protocol="http", Endpoint="http://example.com"), "sqs endpoints only"),
            (dict(TopicArn=topic, Protocol="sqs", Endpoint="strict-q",
                  Attributes={"FilterPolicy": "{not json"}), "strict-q"),
            (dict(TopicArn=topic, Protocol="sqs", Endpoint="strict-q",
                  Attributes={"DeliveryPolicy": "{}"}), "DeliveryPolicy"),
            (dict(TopicArn=topic, Protocol="sqs", Endpoint="strict-q",
                  Attributes={"RawMessageDelivery": "yes"}), "RawMessageDelivery"),
        ]
        for kwargs, named in cases:
            try:
                self.sns.subscribe(**kwargs)
                self.fail("accepted %r" % kwargs)
            except self.sns.exceptions.InvalidParameterException as e:
                self.assertIn(named, e.response["Error"]["Message"])
        with self.assertRaises(self.sns.exceptions.NotFoundException):
            self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="no-such-queue")
        for kwargs, named in ((dict(TopicArn=topic, Message="x", Subject="a\nb"), "Subject"),
                              (dict(TopicArn=topic, Message="x", MessageAttributes={
                                  "n": {"DataType": "Number", "StringValue": "NaN"}}), "not a number"),
                              (dict(TopicArn=topic, Message="x", MessageStructure="json"), "MessageStructure")):
            try:
                self.sns.publish(**kwargs)
                self.fail("accepted %r" % kwargs)
            except self.sns.exceptions.InvalidParameterException as e:
                self.assertIn(named, e.response["Error"]["Message"])
        status, text = self.node.post("Action=Publish&Version=2010-03-31&Message=x")
        self.assertEqual(status, 400)
        self.assertIn("MissingParameter", text)
        self.assertIn("http://sns.amazonaws.com/doc/2010-03-31/", text)


class ConfiguredAccount(unittest.TestCase):
    """`[http] account` names the account of every ARN and queue URL, notifications included."""

    def test_urls_arns_and_notifications_carry_the_configured_account(self):
        node = Node('\n[http]\naccount = "210987654321"\n')
        try:
            sqs, sns = node.client("sqs"), node.client("sns", region="eu-west-1")
            url = sqs.create_queue(QueueName="acct")["QueueUrl"]
            self.assertTrue(url.endswith("/210987654321/acct"), url)
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.assertEqual(arn, "arn:aws:sqs:us-east-1:210987654321:acct")
            topic = sns.create_topic(Name="acct-topic")["TopicArn"]
            self.assertEqual(topic, "arn:aws:sns:eu-west-1:210987654321:acct-topic")
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
            sns.publish(TopicArn=topic, Message="hi")
            body = json.loads(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"][0]["Body"])
            self.assertEqual(body["TopicArn"], topic)
        finally:
            node.stop()

    def test_an_account_that_is_not_twelve_digits_is_refused_at_start(self):
        with self.assertRaises(RuntimeError) as e:
            Node('\n[http]\naccount = "12345"\n')
        self.assertIn("[http] account must be twelve digits", str(e.exception))


if __name__ == "__main__":
    mailroom_node.configure(sys.argv)
    unittest.main(verbosity=2)
