"""GET /metrics and GET /health of a real mailroomd: the Prometheus text format checked by
promtool (Debian's prometheus package), and values that follow what was done through the API.

Run by ctest as: /usr/bin/python3 metrics_test.py MAILROOMD AWS_CLI MAILROOM_CLI.
"""
import os
import re
import subprocess
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mailroom_node  # noqa: E402
from mailroom_node import NodeTest  # noqa: E402


def scrape(node):
    with urllib.request.urlopen(node.url + "/metrics", timeout=30) as r:
        return r.status, r.headers["Content-Type"], r.read().decode()


def value(text, name, labels=""):
    pattern = r"^%s%s (\S+)$" % (re.escape(name), re.escape("{%s}" % labels) if labels else "")
    found = re.search(pattern, text, re.M)
    return float(found.group(1)) if found else None


class Metrics(NodeTest):
    def test_the_exposition_passes_promtool_and_counts_what_happened(self):
        url = self.sqs.create_queue(QueueName="metered")["QueueUrl"]
        self.sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(3)])
        got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=5)["Messages"]
        self.sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
        topic = self.sns.create_topic(Name="metered-topic")["TopicArn"]
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=url,
                           Attributes={"FilterPolicy": '{"k": ["v"]}'})
        self.sns.publish(TopicArn=topic, Message="unmatched")

        status, content_type, text = scrape(self.node)
        self.assertEqual(status, 200)
        self.assertTrue(content_type.startswith("text/plain; version=0.0.4"), content_type)
        check = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

        q = 'queue="metered"'
        self.assertEqual(value(text, "mailroom_queue_sent_total", q), 3)
        self.assertEqual(value(text, "mailroom_queue_received_total", q), 1)
        self.assertEqual(value(text, "mailroom_queue_acked_total", q), 1)
        self.assertEqual(value(text, "mailroom_queue_visible_messages", q), 2)
        self.assertEqual(value(text, "mailroom_queue_in_flight_messages", q), 0)
        t = 'topic="metered-topic"'
        self.assertEqual(value(text, "mailroom_topic_published_total", t), 1)
        self.assertEqual(value(text, "mailroom_topic_unmatched_total", t), 1)
        self.assertGreater(value(text, "mailroom_journal_commits_total"), 0)
        self.assertGreater(value(text, "mailroom_journal_fsync_seconds_count"), 0)
        self.assertEqual(value(text, "mailroom_journal_accepting_writes"), 1)
        self.assertGreaterEqual(value(text, "mailroom_connections", 'face="http"'), 1)
        self.assertIsNotNone(value(text, "mailroom_sagas", 'status="RUNNING"'))

    def test_health_answers_while_the_journal_takes_writes(self):
        with urllib.request.urlopen(self.node.url + "/health", timeout=30) as r:
            self.assertEqual((r.status, r.read()), (200, b"ok\n"))


if __name__ == "__main__":
    mailroom_node.configure(sys.argv)
    unittest.main(verbosity=2)
