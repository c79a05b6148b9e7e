"""The problem statement's Python classes (tests/http/patterns/, copied verbatim from
../shared/reference/message-queue-patterns.md) against a real mailroomd, with only the
endpoint injected: boto3.client is wrapped to pass endpoint_url (Debian's boto3 1.26 reads no
endpoint from the environment).

Run by ctest as: /usr/bin/python3 patterns_test.py MAILROOMD AWS_CLI MAILROOM_CLI.
"""
import json
import os
import sys
import unittest
import unittest.mock

import boto3

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "patterns"))
import mailroom_node  # noqa: E402
from mailroom_node import Node  # noqa: E402

REAL_CLIENT = boto3.client


class Patterns(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node()
        endpoint = cls.node.url

        def client(name, *args, **kwargs):
            kwargs.setdefault("endpoint_url", endpoint)
            kwargs.setdefault("region_name", "us-east-1")
            kwargs.setdefault("aws_access_key_id", "test")
            kwargs.setdefault("aws_secret_access_key", "test")
            return REAL_CLIENT(name, *args, **kwargs)

        cls.patch = unittest.mock.patch.object(boto3, "client", client)
        cls.patch.start()
        import dead_letter_queue  # noqa: E402 (boto3.client is patched first)
        import fan_out  # noqa: E402
        import queue_monitor  # noqa: E402
        cls.dlq, cls.fan_out, cls.monitor = dead_letter_queue, fan_out, queue_monitor

    @classmethod
    def tearDownClass(cls):
        cls.patch.stop()
        cls.node.stop()

    def test_dead_letter_queue_manager_retries_then_dead_letters(self):
        # max_retries 1: one requeue (DelaySeconds 10, so its receive long-polls past the delay),
        # then the DLQ.
        m = self.dlq.DeadLetterQueueManager(self.dlq.QueueConfig("orders", "orders-dlq", max_retries=1,
                                                                 visibility_timeout=2))
        m.send_message({"order_id": 1, "type": "order.created"})

        def fail(message):
            raise RuntimeError("payment service down")

        handled = 0
        while True:
            messages = m.receive_messages()
            self.assertTrue(messages, "the requeued message did not come back")
            for message in messages:
                m.process_message(message, fail)
                handled += 1
            dead = m.get_dlq_messages()
            if dead:
                break
        self.assertEqual(handled, 2)  # the first delivery and the retry
        record = json.loads(dead[0]["Body"])
        self.assertEqual(record["error"], "payment service down")
        self.assertEqual(json.loads(record["original_message"]), {"order_id": 1, "type": "order.created"})
        # retry_dlq_messages takes the record and, with a handler that works, deletes it.
        m.sqs.change_message_visibility(QueueUrl=m.dlq_url, ReceiptHandle=dead[0]["ReceiptHandle"],
                                        VisibilityTimeout=0)
        seen = []
        m.retry_dlq_messages(seen.append)
        self.assertEqual(seen, [{"order_id": 1, "type": "order.created"}])
        attrs = m.sqs.get_queue_attributes(QueueUrl=m.dlq_url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        self.assertEqual(attrs, {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"})

    def test_fan_out_manager_and_content_based_router(self):
        f = self.fan_out.FanOutManager()
        config = f.setup_fanout("events-orders", ["billing", "shipping", "audit"])
        self.assertEqual(len(config.subscription_arns), 3)
        f.publish_to_fanout(config.topic_arn, {"order_id": 7, "type": "order.created"},
                            {"type": "order.created"})
        for name in ("billing", "shipping", "audit"):
            url = f.sqs.get_queue_url(QueueName=name)["QueueUrl"]
            got = f.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
            envelope = json.loads(got[0]["Body"])
            self.assertEqual(envelope["TopicArn"], config.topic_arn)
            self.assertEqual(json.loads(envelope["Message"]), {"order_id": 7, "type": "order.created"})
            self.assertEqual(envelope["MessageAttributes"]["type"], {"Type": "String", "Value": "order.created"})

        router = self.fan_out.ContentBasedRouter()
        created = f.create_topic("created-orders")
        cancelled = f.create_topic("cancelled-orders")
        nobody = f.create_topic("unsubscribed")  # zero subscribers: publishing still succeeds
        router.add_route("created", created)
        router.add_route("cancelled", cancelled)
        router.add_route("refund", nobody)
        url = f.sqs.create_queue(QueueName="created-log")["QueueUrl"]
        f.subscribe_queue(created, url)
        self.assertTrue(router.route_message({"type": "order.created", "id": 1}))
        self.assertTrue(router.route_message({"type": "order.refund", "id": 2}))
        self.assertFalse(router.route_message({"type": "order.shipped", "id": 3}))
        got = f.sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
        self.assertEqual(json.loads(json.loads(got[0]["Body"])["Message"]), {"type": "order.created", "id": 1})

    def test_queue_monitor_reads_metrics_creates_an_alarm_and_alerts(self):
        monitor = self.monitor.QueueMonitor()
        url = monitor.sqs.create_queue(QueueName="monitored-dlq")["QueueUrl"]
        for i in range(3):
            monitor.sqs.send_message(QueueUrl=url, MessageBody="dead %d" % i)
        self.assertEqual(monitor.get_queue_metrics(url),
                         {"visible_messages": 3, "in_flight_messages": 0, "oldest_message_age": 0})
        # An alarm without actions, as the pattern makes it: kept and described, publishes nothing.
        monitor.create_queue_alarm("monitored-dlq", "ApproximateNumberOfMessagesVisible", 100, "dlq-depth")
        described = monitor.cloudwatch.describe_alarms(AlarmNames=["dlq-depth"])["MetricAlarms"]
        self.assertEqual([(a["AlarmName"], a["Period"], a["EvaluationPeriods"], a["Statistic"]) for a in described],
                         [("dlq-depth", 300, 3, "Average")])
        # monitor_dlq publishes to the hard-coded alerts ARN once the DLQ passes the threshold.
        sns = boto3.client("sns")
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        log = monitor.sqs.create_queue(QueueName="monitor-alerts")["QueueUrl"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=log)
        monitor.monitor_dlq(url, threshold=2)
        got = monitor.sqs.receive_message(QueueUrl=log, WaitTimeSeconds=5)["Messages"]
        note = json.loads(got[0]["Body"])
        self.assertEqual((note["Subject"], note["Message"]), ("DLQ Alert", "DLQ threshold exceeded: 3 messages"))


if __name__ == "__main__":
    mailroom_node.configure(sys.argv)
    unittest.main(verbosity=2)
