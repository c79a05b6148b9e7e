"""SQS dead-letter queues on a real mailroomd: RedrivePolicy, ListDeadLetterSourceQueues, the
message move tasks that take dead letters back (raw requests: Debian's botocore predates them),
and the queue actions around them: tags, ChangeMessageVisibilityBatch, FIFO receive attempts.

Run by ctest as: /usr/bin/python3 sqs_dead_letter_test.py MAILROOMD AWS_CLI MAILROOM_CLI.
No timed assertions: what must happen is waited for with a long poll or a bounded retry loop,
and only what came back is checked.
"""
import json
import os
import re
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mailroom_node  # noqa: E402
from mailroom_node import NodeTest, error_code  # noqa: E402

ARN = "arn:aws:sqs:us-east-1:123456789012:"


class DeadLetterQueues(NodeTest):
    def queue(self, name, **attributes):
        return self.sqs.create_queue(QueueName=name, Attributes={k: str(v) for k, v in attributes.items()})["QueueUrl"]

    def give_back(self, url, times):
        """Receives the next message `times` times, giving it back at once each time."""
        for _ in range(times):
            m = self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"][0]
            self.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"],
                                               VisibilityTimeout=0)

    def depth(self, url):
        attributes = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        return int(attributes["Attributes"]["ApproximateNumberOfMessages"])

    def wait_for_depth(self, url, n):
        """Until `url` holds `n` visible messages: a dead message is handed to its dead-letter
        queue after the receive that found it dead has answered. Bounds the wait only."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.depth(url) == n:
                return
            time.sleep(0.02)
        self.fail("%s never held %d messages" % (url, n))

    def action(self, action, **fields):
        """A raw query-protocol request: (status, XML text)."""
        return self.node.post(urllib.parse.urlencode(dict(Action=action, Version="2012-11-05", **fields)))

    def test_a_message_past_max_receive_count_moves_to_the_dead_letter_queue(self):
        dlq = self.queue("orders-dlq")
        url = self.queue("orders", VisibilityTimeout=30, RedrivePolicy=json.dumps(
            {"deadLetterTargetArn": ARN + "orders-dlq", "maxReceiveCount": "2"}))
        policy = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
        self.assertEqual(json.loads(policy["RedrivePolicy"]),
                         {"deadLetterTargetArn": ARN + "orders-dlq", "maxReceiveCount": 2})
        sent = self.sqs.send_message(QueueUrl=url, MessageBody="poison",
                                     MessageAttributes={"kind": {"DataType": "String", "StringValue": "x"}})
        self.give_back(url, 2)
        self.assertNotIn("Messages", self.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1))
        dead = self.sqs.receive_message(QueueUrl=dlq, WaitTimeSeconds=10, AttributeNames=["All"],
                                        MessageAttributeNames=["All"])["Messages"][0]
        self.assertEqual(dead["MessageId"], sent["MessageId"])
        self.assertEqual(dead["Body"], "poison")
        self.assertEqual(dead["MessageAttributes"]["kind"]["StringValue"], "x")
        self.assertEqual(dead["Attributes"]["DeadLetterQueueSourceArn"], ARN + "orders")
        self.assertEqual(self.sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"], [url])
        self.assertEqual(self.sqs.list_dead_letter_source_queues(QueueUrl=url).get("queueUrls", []), [])
        # Ending the policy: a number as maxReceiveCount is taken too, "" removes it.
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": ARN + "orders-dlq", "maxReceiveCount": 7})})
        self.sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": ""})
        self.assertNotIn("RedrivePolicy", self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"])
        self.assertEqual(self.sqs.list_dead_letter_source_queues(QueueUrl=dlq).get("queueUrls", []), [])

    def test_bad_redrive_policies_are_refused_naming_the_problem(self):
        self.queue("target")
        self.queue("target.fifo", FifoQueue="true")
        for policy, reason in (("{", "not a JSON object"),
                               ("[]", "not a JSON object"),
                               ('{"maxReceiveCount": 3}', "needs deadLetterTargetArn"),
                               ('{"deadLetterTargetArn": "target", "maxReceiveCount": 3}', "not an SQS queue ARN"),
                               ('{"deadLetterTargetArn": "%starget", "maxReceiveCount": 0}' % ARN, "1 to 1000"),
                               ('{"deadLetterTargetArn": "%starget", "maxReceiveCount": "NaN"}' % ARN, "1 to 1000"),
                               ('{"deadLetterTargetArn": "%starget", "maxReceiveCount": 1e400}' % ARN, "not a JSON object"),
                               ('{"deadLetterTargetArn": "%starget", "maxReceiveCount": 3, "x": 1}' % ARN, "Unknown key x"),
                               ('{"deadLetterTargetArn": "%snope", "maxReceiveCount": 3}' % ARN, "does not exist"),
                               ('{"deadLetterTargetArn": "%starget.fifo", "maxReceiveCount": 3}' % ARN, "same type"),
                               ('{"deadLetterTargetArn": "%ssource", "maxReceiveCount": 3}' % ARN, "does not exist")):
            try:
                self.sqs.create_queue(QueueName="source", Attributes={"RedrivePolicy": policy})
                raise AssertionError("accepted " + policy)
            except self.sqs.exceptions.ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "InvalidParameterValue", policy)
                self.assertIn(reason, e.response["Error"]["Message"], policy)
        self.assertEqual(error_code(self.sqs.get_queue_url, QueueName="source"),
                         "AWS.SimpleQueueService.NonExistentQueue")

    def start_move(self, **fields):
        status, text = self.action("StartMessageMoveTask", **fields)
        self.assertEqual(status, 200, text)
        return re.search("<TaskHandle>(.*)</TaskHandle>", text).group(1)

    def tasks(self, source):
        status, text = self.action("ListMessageMoveTasks", SourceArn=ARN + source, MaxResults="10")
        self.assertEqual(status, 200, text)
        return [dict(re.findall(r"<(\w+)>([^<]*)</\1>", entry))
                for entry in re.findall("<ListMessageMoveTasksResultEntry>(.*?)</ListMessageMoveTasksResultEntry>", text)]

    def test_a_move_task_redrives_the_dead_letters_to_their_source_with_their_ids(self):
        dlq = self.queue("moves-dlq")
        url = self.queue("moves", RedrivePolicy=json.dumps({"deadLetterTargetArn": ARN + "moves-dlq",
                                                            "maxReceiveCount": 1}))
        ids = set()
        for body in ("a", "b", "c"):
            ids.add(self.sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"])
            self.give_back(url, 1)
            self.assertNotIn("Messages", self.sqs.receive_message(QueueUrl=url))  # dead-lettered on the way
        self.wait_for_depth(dlq, 3)
        handle = self.start_move(SourceArn=ARN + "moves-dlq")
        for _ in range(100):
            task = self.tasks("moves-dlq")[0]
            if task["Status"] != "RUNNING":
                break
            time.sleep(0.05)
        self.assertEqual(task["TaskHandle"], handle)
        self.assertEqual(task["Status"], "COMPLETED")
        self.assertEqual(task["ApproximateNumberOfMessagesMoved"], "3")
        self.assertEqual(task["ApproximateNumberOfMessagesToMove"], "3")
        self.assertEqual(task["SourceArn"], ARN + "moves-dlq")
        back = set()
        while len(back) < 3:
            for m in self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=10,
                                              VisibilityTimeout=60).get("Messages", []):
                back.add(m["MessageId"])
        self.assertEqual(back, ids)
        self.assertNotIn("Messages", self.sqs.receive_message(QueueUrl=dlq))
        # What the API refuses, with SQS's codes.
        for fields, code in (({"SourceArn": ARN + "moves"}, "UnsupportedOperation"),
                             ({"SourceArn": ARN + "nope"}, "ResourceNotFoundException"),
                             ({"SourceArn": "moves-dlq"}, "InvalidParameterValue"),
                             ({"SourceArn": ARN + "moves-dlq", "MaxNumberOfMessagesPerSecond": "501"},
                              "InvalidParameterValue"),
                             ({"SourceArn": ARN + "moves-dlq", "DestinationArn": ARN + "nope"},
                              "ResourceNotFoundException"),
                             ({}, "MissingParameter")):
            status, text = self.action("StartMessageMoveTask", **fields)
            self.assertEqual(status, 400, fields)
            self.assertIn("<Code>%s</Code>" % code, text, fields)
        status, text = self.action("CancelMessageMoveTask", TaskHandle=handle)
        self.assertIn("<Code>UnsupportedOperation</Code>", text, "a completed task is not cancelled")

    def test_a_slow_move_task_can_be_cancelled(self):
        slow_dlq = self.queue("slow-dlq")
        url = self.queue("slow", RedrivePolicy=json.dumps({"deadLetterTargetArn": ARN + "slow-dlq",
                                                           "maxReceiveCount": 1}))
        self.queue("slow-elsewhere")
        # Sixty dead letters at one per second: a minute of moving, so the cancel below comes
        # first however slow the machine (no timing is asserted).
        n = 60
        for start in range(0, n, 10):
            self.sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)}
                                                               for i in range(start, start + 10)])
        leased = 0
        while leased < n:  # each delivered once, leased for 0 s: the next receive finds it dead
            leased += len(self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                                   WaitTimeSeconds=5).get("Messages", []))
        deadline = time.monotonic() + 30
        while self.depth(slow_dlq) < n and time.monotonic() < deadline:
            self.assertNotIn("Messages", self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10))
        self.wait_for_depth(slow_dlq, n)
        handle = self.start_move(SourceArn=ARN + "slow-dlq", DestinationArn=ARN + "slow-elsewhere",
                                 MaxNumberOfMessagesPerSecond="1")
        status, text = self.action("CancelMessageMoveTask", TaskHandle=handle)
        self.assertEqual(status, 200, text)
        deadline = time.monotonic() + 30  # the step in flight ends within the second
        task = self.tasks("slow-dlq")[0]
        while task["Status"] in ("RUNNING", "CANCELLING") and time.monotonic() < deadline:
            time.sleep(0.05)
            task = self.tasks("slow-dlq")[0]
        self.assertEqual(task["Status"], "CANCELLED")
        self.assertEqual(task["DestinationArn"], ARN + "slow-elsewhere")
        self.assertEqual(task["MaxNumberOfMessagesPerSecond"], "1")
        moved = int(task["ApproximateNumberOfMessagesMoved"])
        left = self.sqs.get_queue_attributes(QueueUrl=self.sqs.get_queue_url(QueueName="slow-dlq")["QueueUrl"],
                                             AttributeNames=["ApproximateNumberOfMessages",
                                                             "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        self.assertEqual(int(left["ApproximateNumberOfMessages"]) + int(left["ApproximateNumberOfMessagesNotVisible"]),
                         n - moved, "nothing lost, nothing doubled")


class QueueActions(NodeTest):
    def test_tags(self):
        url = self.sqs.create_queue(QueueName="tagged", tags={"team": "billing"})["QueueUrl"]
        self.sqs.tag_queue(QueueUrl=url, Tags={"env": "prod", "team": "payments"})
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"], {"env": "prod", "team": "payments"})
        self.assertEqual(self.sqs.create_queue(QueueName="tagged")["QueueUrl"], url, "tags are not compared")
        self.sqs.untag_queue(QueueUrl=url, TagKeys=["env", "absent"])
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"], {"team": "payments"})
        self.assertEqual(error_code(self.sqs.tag_queue, QueueUrl=url, Tags={"k" * 129: "v"}), "InvalidParameterValue")
        self.assertEqual(error_code(self.sqs.tag_queue, QueueUrl=url,
                                    Tags={"t%d" % i: "v" for i in range(50)}), "InvalidParameterValue")
        self.assertEqual(self.sqs.list_queue_tags(QueueUrl=url)["Tags"], {"team": "payments"}, "all or nothing")
        self.assertEqual(error_code(self.sqs.list_queue_tags, QueueUrl=url + "-nope"),
                         "AWS.SimpleQueueService.NonExistentQueue")

    def test_change_message_visibility_batch(self):
        url = self.sqs.create_queue(QueueName="batch-visibility")["QueueUrl"]
        for body in ("a", "b"):
            self.sqs.send_message(QueueUrl=url, MessageBody=body)
        got = []
        while len(got) < 2:
            got += self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, WaitTimeSeconds=5)["Messages"]
        out = self.sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": "a", "ReceiptHandle": got[0]["ReceiptHandle"], "VisibilityTimeout": 0},
            {"Id": "b", "ReceiptHandle": got[1]["ReceiptHandle"], "VisibilityTimeout": 600},
            {"Id": "bad", "ReceiptHandle": "nonsense", "VisibilityTimeout": 0},
            {"Id": "long", "ReceiptHandle": got[1]["ReceiptHandle"], "VisibilityTimeout": 43201}])
        self.assertEqual(sorted(e["Id"] for e in out["Successful"]), ["a", "b"])
        failed = {e["Id"]: e["Code"] for e in out["Failed"]}
        self.assertEqual(failed, {"bad": "ReceiptHandleIsInvalid", "long": "InvalidParameterValue"})
        again = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5)["Messages"]
        self.assertEqual([m["Body"] for m in again], [got[0]["Body"]], "only the one given back")

    def test_a_retried_fifo_receive_with_the_same_attempt_id_gets_the_same_messages(self):
        url = self.sqs.create_queue(QueueName="attempts.fifo", Attributes={
            "FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
        self.sqs.send_message(QueueUrl=url, MessageBody="one", MessageGroupId="g1")
        self.sqs.send_message(QueueUrl=url, MessageBody="two", MessageGroupId="g2")
        first = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, ReceiveRequestAttemptId="try-1",
                                         WaitTimeSeconds=5)["Messages"]
        retried = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, ReceiveRequestAttemptId="try-1")["Messages"]
        self.assertEqual(retried, first, "the same messages and receipts")
        other = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, ReceiveRequestAttemptId="try-2",
                                         WaitTimeSeconds=5)["Messages"]
        self.assertNotEqual(other[0]["MessageId"], first[0]["MessageId"])
        self.assertEqual(error_code(self.sqs.receive_message, QueueUrl=url, ReceiveRequestAttemptId="x" * 129),
                         "InvalidParameterValue")
        self.assertEqual(error_code(self.sqs.receive_message, QueueUrl=url, ReceiveRequestAttemptId="tab\there"),
                         "InvalidParameterValue")


if __name__ == "__main__":
    mailroom_node.configure(sys.argv)
    unittest.main()
