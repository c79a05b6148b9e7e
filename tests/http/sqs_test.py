"""The SQS face of a real mailroomd, through Debian 12's boto3 (1.26) and AWS CLI (2.9).

Run by ctest as: /usr/bin/python3 sqs_test.py MAILROOMD AWS_CLI MAILROOM_CLI. Each test class starts its
own node on free ports in a fresh directory and stops it with SIGTERM. No timed assertions:
a long poll that must wake up is asked for longer than the test could wait by accident, and
only what it returned is checked.
"""
import base64
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
import unittest

import botocore.exceptions

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mailroom_node  # noqa: E402
from mailroom_node import Node, NodeTest, error_code  # noqa: E402

class SqsThroughBoto3(NodeTest):
    def queue(self, name, **attributes):
        return self.sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attributes.items()})["QueueUrl"]

    def test_queue_lifecycle(self):
        url = self.queue("life", VisibilityTimeout=5, DelaySeconds=0, MessageRetentionPeriod=3600,
                         MaximumMessageSize=2048)
        self.assertEqual(url, self.node.url + "/123456789012/life")
        # The same attributes again: the same queue; other ones: QueueNameExists.
        self.assertEqual(self.queue("life", VisibilityTimeout=5, DelaySeconds=0,
                                    MessageRetentionPeriod=3600, MaximumMessageSize=2048), url)
        self.assertEqual(error_code(self.sqs.create_queue, QueueName="life",
                                    Attributes={"VisibilityTimeout": "9"}), "QueueAlreadyExists")
        self.assertEqual(self.sqs.get_queue_url(QueueName="life")["QueueUrl"], url)
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertEqual(attrs["VisibilityTimeout"], "5")
        self.assertEqual(attrs["MessageRetentionPeriod"], "3600")
        self.assertEqual(attrs["MaximumMessageSize"], "2048")
        self.assertEqual(attrs["QueueArn"], "arn:aws:sqs:us-east-1:123456789012:life")
        self.assertIn("life", [u.rsplit("/", 1)[1] for u in self.sqs.list_queues()["QueueUrls"]])
        self.sqs.delete_queue(QueueUrl=url)
        with self.assertRaises(self.sqs.exceptions.QueueDoesNotExist):
            self.sqs.get_queue_url(QueueName="life")

    def test_region_comes_from_the_signature(self):
        url = self.queue("regional")
        eu = self.node.client(region="eu-west-1")
        attrs = eu.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        self.assertEqual(attrs, {"QueueArn": "arn:aws:sqs:eu-west-1:123456789012:regional"})

    def test_list_queues_by_prefix_and_page(self):
        for n in ("page-a", "page-b", "page-c"):
            self.queue(n)
        first = self.sqs.list_queues(QueueNamePrefix="page-", MaxResults=2)
        self.assertEqual([u.rsplit("/", 1)[1] for u in first["QueueUrls"]], ["page-a", "page-b"])
        rest = self.sqs.list_queues(QueueNamePrefix="page-", MaxResults=2, NextToken=first["NextToken"])
        self.assertEqual([u.rsplit("/", 1)[1] for u in rest["QueueUrls"]], ["page-c"])
        self.assertNotIn("NextToken", rest)

    def test_send_receive_delete_with_digests(self):
        url = self.queue("digests")
        body = '{"order_id": 1, "type": "order.created"}'
        sent = self.sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes={
            "type": {"DataType": "String", "StringValue": "order.created"}})
        self.assertEqual(sent["MD5OfMessageBody"], "2fa6bd830fef26e84828f4ac2ce957dc")
        self.assertEqual(sent["MD5OfMessageAttributes"], "2862df9b1c27b502ff63d6a9272405ea")
        got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5,
                                       MessageAttributeNames=["All"], AttributeNames=["All"])["Messages"]
        self.assertEqual(len(got), 1)
        m = got[0]
        self.assertEqual(m["MessageId"], sent["MessageId"])
        self.assertEqual(m["Body"], body)
        self.assertEqual(m["MD5OfBody"], "2fa6bd830fef26e84828f4ac2ce957dc")
        self.assertEqual(m["MD5OfMessageAttributes"], "2862df9b1c27b502ff63d6a9272405ea")
        self.assertEqual(m["MessageAttributes"], {"type": {"DataType": "String", "StringValue": "order.created"}})
        self.assertEqual(m["Attributes"]["ApproximateReceiveCount"], "1")
        self.assertIn("SentTimestamp", m["Attributes"])
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
            "ApproximateAgeOfOldestMessage"])["Attributes"]
        self.assertEqual(attrs, {"ApproximateNumberOfMessages": "0",
                                 "ApproximateNumberOfMessagesNotVisible": "0",
                                 "ApproximateAgeOfOldestMessage": "0"})
        self.assertEqual(error_code(self.sqs.delete_message, QueueUrl=url, ReceiptHandle=m["ReceiptHandle"]),
                         "ReceiptHandleIsInvalid")

    def test_typed_attributes_round_trip_byte_exact(self):
        url = self.queue("typed")
        attributes = {
            "RetryCount": {"DataType": "Number", "StringValue": "1"},
            "Bin": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
            "price": {"DataType": "Number.float", "StringValue": "12.50"},
            "note": {"DataType": "String.utf8", "StringValue": "caf\u00e9"},
        }
        sent = self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attributes)
        m = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, MessageAttributeNames=["All"])["Messages"][0]
        self.assertEqual(m["MessageAttributes"], attributes)
        self.assertEqual(m["MD5OfMessageAttributes"], sent["MD5OfMessageAttributes"])
        # The patterns' requeue: the received dict sent again as it is, plus one more.
        again = dict(m["MessageAttributes"], RetryCount={"DataType": "Number", "StringValue": "1"})
        self.sqs.send_message(QueueUrl=url, MessageBody="y", MessageAttributes=again)
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        only = self.sqs.send_message(QueueUrl=url, MessageBody="z", MessageAttributes={
            "RetryCount": {"DataType": "Number", "StringValue": "1"},
            "Bin": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}})
        self.assertEqual(only["MD5OfMessageAttributes"], "56e778bb5ec842467816d0448bfff82a")
        for attrs, named in (({"n": {"DataType": "Number", "StringValue": "NaN"}}, "not a number"),
                             ({"n": {"DataType": "Number", "StringValue": "1e"}}, "not a number"),
                             ({"n": {"DataType": "Integer", "StringValue": "1"}}, "invalid DataType"),
                             ({"n": {"DataType": "Number.", "StringValue": "1"}}, "invalid DataType"),
                             ({"bad name": {"DataType": "String", "StringValue": "1"}}, "bad name")):
            try:
                self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attrs)
                self.fail("accepted %r" % attrs)
            except botocore.exceptions.ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "InvalidParameterValue")
                self.assertIn(named, e.response["Error"]["Message"])
        status, text = self.node.post("Action=SendMessage&QueueUrl=%s&MessageBody=x&MessageAttribute.1.Name=b"
                                      "&MessageAttribute.1.Value.DataType=Binary"
                                      "&MessageAttribute.1.Value.BinaryValue=***" % url)
        self.assertEqual(status, 400)
        self.assertIn("is not base64", text)

    def test_bodies_keep_every_byte_xml_can_carry(self):
        url = self.queue("bytes")
        body = "a\r\nb\rc <&> \"quoted\" 'single' \u00e9\U0001F600\t"
        self.sqs.send_message(QueueUrl=url, MessageBody=body)
        m = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"][0]
        self.assertEqual(m["Body"], body)
        self.assertEqual(error_code(self.sqs.send_message, QueueUrl=url, MessageBody="bad \x01"),
                         "InvalidMessageContents")

    def test_bytes_xml_cannot_carry_arrive_as_base64(self):
        # Sent through the Cap'n Proto endpoint (the CLI), which takes any bytes.
        url = self.queue("from-capnp")
        subprocess.run([mailroom_node.MAILROOM_CLI, "--node", "127.0.0.1:%d" % self.node.port, "send", "from-capnp",
                        "--attr", "raw=\x02bin", "a\x01b"], check=True, capture_output=True)
        m = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, MessageAttributeNames=["All"])["Messages"][0]
        self.assertEqual(base64.b64decode(m["Body"]), b"a\x01b")
        self.assertEqual(m["MessageAttributes"]["Mailroom.BodyEncoding"]["StringValue"], "base64")
        self.assertEqual(m["MessageAttributes"]["raw"], {"DataType": "Binary", "BinaryValue": b"\x02bin"})

    def test_no_attributes_unless_asked(self):
        url = self.queue("unasked")
        self.sqs.send_message(QueueUrl=url, MessageBody="x",
                              MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
        m = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"][0]
        self.assertNotIn("MessageAttributes", m)
        self.assertNotIn("MD5OfMessageAttributes", m)
        self.assertNotIn("Attributes", m)

    def test_message_attribute_name_patterns(self):
        url = self.queue("patterns")
        self.sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={
            "order.id": {"DataType": "String", "StringValue": "1"},
            "order.kind": {"DataType": "String", "StringValue": "a"},
            "other": {"DataType": "String", "StringValue": "b"}})
        m = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5,
                                     MessageAttributeNames=["order.*"])["Messages"][0]
        self.assertEqual(sorted(m["MessageAttributes"]), ["order.id", "order.kind"])

    def test_batches(self):
        url = self.queue("batches")
        out = self.sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "a", "MessageBody": "x"},
            {"Id": "b", "MessageBody": "y", "DelaySeconds": 901},
            {"Id": "c", "MessageBody": "z"}])
        self.assertEqual(sorted(e["Id"] for e in out["Successful"]), ["a", "c"])
        self.assertEqual(out["Successful"][0]["MD5OfMessageBody"], "9dd4e461268c8034f5c8564e155c67a6")
        self.assertEqual([(e["Id"], e["Code"]) for e in out["Failed"]], [("b", "InvalidParameterValue")])
        got = []
        while len(got) < 2:
            got += self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5)["Messages"]
        out = self.sqs.delete_message_batch(QueueUrl=url, Entries=[
            {"Id": "m%d" % i, "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)] + [
            {"Id": "bogus", "ReceiptHandle": "not-a-receipt"}])
        self.assertEqual(sorted(e["Id"] for e in out["Successful"]), ["m0", "m1"])
        self.assertEqual([(e["Id"], e["Code"]) for e in out["Failed"]], [("bogus", "ReceiptHandleIsInvalid")])

    def test_batch_rules(self):
        url = self.queue("batch-rules")
        code = lambda entries: error_code(self.sqs.send_message_batch, QueueUrl=url, Entries=entries)
        self.assertEqual(code([{"Id": str(i), "MessageBody": "x"} for i in range(11)]),
                         "AWS.SimpleQueueService.TooManyEntriesInBatchRequest")
        self.assertEqual(code([{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}]),
                         "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
        self.assertEqual(code([{"Id": "no spaces", "MessageBody": "x"}]),
                         "AWS.SimpleQueueService.InvalidBatchEntryId")
        self.assertEqual(code([{"Id": str(i), "MessageBody": "x" * 30000} for i in range(10)]),
                         "AWS.SimpleQueueService.BatchRequestTooLong")
        status, text = self.node.post("Action=SendMessageBatch&QueueUrl=" + url)
        self.assertEqual(status, 400)
        self.assertIn("AWS.SimpleQueueService.EmptyBatchRequest", text)

    def test_long_poll_wakes_on_send_and_on_delay_end(self):
        url = self.queue("wake")
        # A poll asked for 20 s that returns the message proves it woke: had it not, it would
        # have returned empty.
        sender = threading.Timer(0.3, lambda: self.node.client().send_message(QueueUrl=url, MessageBody="late"))
        sender.start()
        got = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", [])
        sender.join()
        self.assertEqual([m["Body"] for m in got], ["late"])
        self.sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=1)
        got = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", [])
        self.assertEqual([m["Body"] for m in got], ["delayed"])

    def test_visibility(self):
        url = self.queue("visibility", VisibilityTimeout=30)
        self.sqs.send_message(QueueUrl=url, MessageBody="x")
        m = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"][0]
        self.assertNotIn("Messages", self.sqs.receive_message(QueueUrl=url))
        # Back at once, delivered again with its count.
        self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        again = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
        self.assertEqual(again["Attributes"]["ApproximateReceiveCount"], "2")
        self.assertEqual(error_code(self.sqs.change_message_visibility, QueueUrl=url,
                                    ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=10),
                         "AWS.SimpleQueueService.MessageNotInflight")
        # A receive may lease for 0 s: visible again at once.
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])

    def test_the_patterns_queue_attributes_and_a_default_long_poll(self):
        url = self.queue("patterns-dlq", VisibilityTimeout=2, MessageRetentionPeriod=1209600,
                         ReceiveMessageWaitTimeSeconds=20)
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertEqual(attrs["ReceiveMessageWaitTimeSeconds"], "20")
        # Without WaitTimeSeconds the queue's 20 s apply: the receive wakes on a later send.
        sender = threading.Timer(0.3, lambda: self.node.client().send_message(QueueUrl=url, MessageBody="late"))
        sender.start()
        got = self.sqs.receive_message(QueueUrl=url).get("Messages", [])
        sender.join()
        self.assertEqual([m["Body"] for m in got], ["late"])
        # An explicit 0 is a short poll.
        self.assertNotIn("Messages", self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0))

    def test_set_queue_attributes(self):
        url = self.queue("settable", VisibilityTimeout=30)
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "5", "DelaySeconds": "1",
                                                                "ReceiveMessageWaitTimeSeconds": "3"})
        attrs = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        self.assertEqual((attrs["VisibilityTimeout"], attrs["DelaySeconds"], attrs["ReceiveMessageWaitTimeSeconds"]),
                         ("5", "1", "3"))
        self.assertEqual(error_code(self.sqs.set_queue_attributes, QueueUrl=url, Attributes={"FifoQueue": "true"}),
                         "InvalidAttributeName")
        self.assertEqual(error_code(self.sqs.set_queue_attributes, QueueUrl=url,
                                    Attributes={"ReceiveMessageWaitTimeSeconds": "21"}), "InvalidAttributeValue")
        self.assertEqual(error_code(self.sqs.set_queue_attributes, QueueUrl=self.node.url + "/123456789012/none",
                                    Attributes={"DelaySeconds": "1"}), "AWS.SimpleQueueService.NonExistentQueue")

    def test_purge(self):
        url = self.queue("purge")
        self.sqs.send_message(QueueUrl=url, MessageBody="x")
        self.sqs.purge_queue(QueueUrl=url)
        self.assertEqual(self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
                         ["Attributes"]["ApproximateNumberOfMessages"], "0")

    def test_fifo_queue(self):
        self.assertEqual(error_code(self.sqs.create_queue, QueueName="plain.fifo"), "InvalidParameterValue")
        url = self.queue("orders.fifo", FifoQueue="true", ContentBasedDeduplication="true")
        for body in ("1", "2", "1"):
            self.sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
        first = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5,
                                         AttributeNames=["All"])["Messages"]
        # One in flight per group; the duplicate "1" was not enqueued again.
        self.assertEqual([m["Body"] for m in first], ["1"])
        self.assertEqual(first[0]["Attributes"]["MessageGroupId"], "g")
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
        second = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5)["Messages"]
        self.assertEqual([m["Body"] for m in second], ["2"])
        self.assertEqual(error_code(self.sqs.send_message, QueueUrl=url, MessageBody="no group"),
                         "InvalidParameterValue")

    def test_bad_input_is_refused_naming_the_field(self):
        url = self.queue("bad-input")
        cases = [
            (dict(QueueUrl=url, MessageBody="x", DelaySeconds=901), "InvalidParameterValue", "DelaySeconds"),
            (dict(QueueUrl=self.node.url + "/123456789012/missing", MessageBody="x"),
             "AWS.SimpleQueueService.NonExistentQueue", "missing"),
        ]
        for kwargs, code, named in cases:
            try:
                self.sqs.send_message(**kwargs)
                self.fail("accepted %r" % kwargs)
            except botocore.exceptions.ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], code)
                self.assertIn(named, e.response["Error"]["Message"])
        for field, value in (("MaxNumberOfMessages", "11"), ("MaxNumberOfMessages", "NaN"),
                             ("WaitTimeSeconds", "1e1"), ("VisibilityTimeout", "-1"),
                             ("WaitTimeSeconds", "99999999999999999999999")):
            status, text = self.node.post("Action=ReceiveMessage&QueueUrl=%s&%s=%s" % (url, field, value))
            self.assertEqual(status, 400, text)
            self.assertIn("InvalidParameterValue", text)
            self.assertIn(field, text)
        self.assertEqual(error_code(self.sqs.create_queue, QueueName="bad name"), "InvalidParameterValue")
        self.assertEqual(error_code(self.sqs.create_queue, QueueName="q", Attributes={"Colour": "red"}),
                         "InvalidAttributeName")
        self.assertEqual(error_code(self.sqs.create_queue, QueueName="q", Attributes={"DelaySeconds": "NaN"}),
                         "InvalidAttributeValue")
        self.assertEqual(error_code(self.sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["Colour"]),
                         "InvalidAttributeName")

    def test_hostile_requests(self):
        for body, code in (("Action=SendMessage&MessageBody=%zz", "MalformedQueryString"),
                           ("Action=GetQueueUrl&QueueName=a&QueueName=b", "MalformedQueryString"),
                           ("Action=Nope", "InvalidAction"),
                           ("Version=2099-01-01&Action=Publish", "InvalidAction"),
                           ("Version=2010-03-31&Action=Nope", "InvalidAction"),
                           ("", "InvalidAction")):
            status, text = self.node.post(body)
            self.assertEqual(status, 400, body)
            self.assertIn("<Code>%s</Code>" % code, text)
        # Bytes that are not UTF-8 in a body.
        status, text = self.node.post(b"Action=SendMessage&QueueUrl=x/bad-input&MessageBody=%ff%fe")
        self.assertIn("InvalidMessageContents", text)
        # A body past the bound is refused from its Content-Length, unread.
        with socket.create_connection(("127.0.0.1", self.node.http)) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\nAction=")
            s.settimeout(30)
            reply = ""
            while "</ErrorResponse>" not in reply:
                chunk = s.recv(4096).decode()
                if not chunk:
                    break
                reply += chunk
        self.assertTrue(reply.startswith("HTTP/1.1 413"), reply)
        self.assertIn("RequestEntityTooLarge", reply)
        # One sent whole is drained and answered, not reset.
        status, text = self.node.post("Action=SendMessage&MessageBody=" + "x" * (1024 * 1024 + 1))
        self.assertEqual(status, 413)
        # A half-sent request and a garbage line cost their connection, not the node.
        for raw in (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nAction=",
                    b"\x00\xff garbage\r\n\r\n"):
            with socket.create_connection(("127.0.0.1", self.node.http)) as s:
                s.sendall(raw)
        self.assertEqual(self.node.post("Action=ListQueues")[0], 200)

    def test_aws_cli(self):
        env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                   AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="")
        cli = lambda *args: json.loads(subprocess.run(
            [mailroom_node.AWS_CLI, "--endpoint-url", self.node.url, "--output", "json", "sqs"] + list(args),
            env=env, check=True, capture_output=True, text=True).stdout or "{}")
        url = cli("create-queue", "--queue-name", "cli")["QueueUrl"]
        cli("send-message", "--queue-url", url, "--message-body", "hello from the CLI")
        got = cli("receive-message", "--queue-url", url, "--wait-time-seconds", "5")["Messages"]
        self.assertEqual(got[0]["Body"], "hello from the CLI")
        cli("delete-message", "--queue-url", url, "--receipt-handle", got[0]["ReceiptHandle"])


class ConnectionBounds(unittest.TestCase):
    """Idle HTTP connections past [node] max_connections are closed at once, and the node
    goes on serving once they are gone."""

    def test_connections_past_the_limit_are_closed(self):
        node = Node("max_connections = 4\n")
        try:
            # One more than the limit: the node closes one of them unanswered (which one
            # depends on when it saw the start-up health check's connection go).
            conns = [socket.create_connection(("127.0.0.1", node.http)) for _ in range(5)]
            closed = 0
            deadline = time.monotonic() + 30
            while closed == 0 and time.monotonic() < deadline:
                readable, _, _ = select.select(conns, [], [], 1)
                for c in readable:
                    if c.recv(1) == b"":
                        closed += 1
                        conns.remove(c)
                        c.close()
            self.assertGreaterEqual(closed, 1, "no connection past the limit was closed")
            for c in conns:
                c.close()
            deadline = time.monotonic() + 30
            while True:
                try:
                    if node.post("Action=ListQueues")[0] == 200:
                        break
                except OSError:
                    pass
                self.assertLess(time.monotonic(), deadline, "the node did not serve again")
                time.sleep(0.05)
        finally:
            node.stop()


if __name__ == "__main__":
    mailroom_node.configure(sys.argv)
    unittest.main(verbosity=2)
