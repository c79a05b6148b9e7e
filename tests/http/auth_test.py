"""[http] auth = "sigv4" on a real mailroomd: Debian's boto3 signing with good and bad keys,
unsigned requests, a clock 20 minutes off, and keys from the environment.

Run by ctest as: /usr/bin/python3 auth_test.py MAILROOMD AWS_CLI MAILROOM_CLI.
"""
import datetime
import os
import subprocess
import sys
import unittest
import unittest.mock

import botocore
import botocore.auth

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mailroom_node  # noqa: E402
from mailroom_node import Node, error_code  # noqa: E402

SIGV4 = '\n[http]\nauth = "sigv4"\nkeys_file = "keys"\n'


REAL_DATETIME = datetime.datetime


class SkewedClock(REAL_DATETIME):
    """What botocore.auth sees as datetime.datetime while patched: 20 minutes slow."""

    @classmethod
    def utcnow(cls):
        return REAL_DATETIME.utcnow() - datetime.timedelta(minutes=20)


class SignedRequests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.node = Node(SIGV4, files={"keys": "# the test's keys\nAKIDGOOD s3cret\nAKIDOTHER other\n"},
                        env={"MAILROOM_HTTP_ACCESS_KEY_ID": "AKIDENV",
                             "MAILROOM_HTTP_SECRET_ACCESS_KEY": "from-env"})

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()

    def test_good_keys_are_served_on_both_services(self):
        for key, secret in (("AKIDGOOD", "s3cret"), ("AKIDOTHER", "other"), ("AKIDENV", "from-env")):
            sqs = self.node.client(key=key, secret=secret)
            url = sqs.create_queue(QueueName="signed")["QueueUrl"]
            sqs.send_message(QueueUrl=url, MessageBody="x")
        sns = self.node.client("sns", key="AKIDGOOD", secret="s3cret")
        self.assertIn("TopicArn", sns.create_topic(Name="signed"))

    def test_bad_signatures_are_refused_with_aws_codes(self):
        self.assertEqual(error_code(self.node.client(key="AKIDGOOD", secret="wrong").list_queues),
                         "SignatureDoesNotMatch")
        self.assertEqual(error_code(self.node.client(key="AKIDNOBODY", secret="s3cret").list_queues),
                         "InvalidClientTokenId")
        self.assertEqual(error_code(self.node.client("sns", key="AKIDGOOD", secret="wrong").list_topics),
                         "SignatureDoesNotMatch")
        unsigned = self.node.client(signature_version=botocore.UNSIGNED)
        self.assertEqual(error_code(unsigned.list_queues), "MissingAuthenticationToken")
        status, text = self.node.post("Action=ListQueues")
        self.assertEqual(status, 403)
        self.assertIn("MissingAuthenticationToken", text)

    def test_a_clock_twenty_minutes_off_is_refused(self):
        with unittest.mock.patch.object(botocore.auth.datetime, "datetime", SkewedClock):
            self.assertEqual(error_code(self.node.client(key="AKIDGOOD", secret="s3cret").list_queues),
                             "RequestExpired")


class MisconfiguredAuth(unittest.TestCase):
    def test_sigv4_without_keys_does_not_start(self):
        with self.assertRaises(RuntimeError) as e:
            Node('\n[http]\nauth = "sigv4"\n')
        self.assertIn("needs access keys", str(e.exception))


if __name__ == "__main__":
    mailroom_node.configure(sys.argv)
    unittest.main(verbosity=2)
