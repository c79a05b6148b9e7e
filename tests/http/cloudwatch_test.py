"""CloudWatch alarms on queues through boto3, as the problem statement's QueueMonitor creates
them (namespace AWS/SQS, dimension QueueName): the alarm fires into its SNS topic with
CloudWatch's state-change message, DescribeAlarms reports it, DeleteAlarms removes it.

Run by ctest as: /usr/bin/python3 cloudwatch_test.py MAILROOMD AWS_CLI MAILROOM_CLI.
"""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mailroom_node  # noqa: E402
from mailroom_node import NodeTest, error_code  # noqa: E402


class QueueAlarms(NodeTest):
    def alarm(self, **overrides):
        params = dict(AlarmName="orders-backlog", AlarmDescription="orders pile up",
                      MetricName="ApproximateNumberOfMessagesVisible", Namespace="AWS/SQS",
                      Statistic="Maximum", Period=10, EvaluationPeriods=1, Threshold=0,
                      ComparisonOperator="GreaterThanThreshold",
                      Dimensions=[{"Name": "QueueName", "Value": "orders"}],
                      AlarmActions=["arn:aws:sns:us-east-1:123456789012:alerts"])
        params.update(overrides)
        return params

    def test_an_alarm_fires_into_its_topic_as_cloudwatch_does(self):
        cloudwatch = self.node.client("cloudwatch")
        topic = self.sns.create_topic(Name="alerts")["TopicArn"]
        log = self.sqs.create_queue(QueueName="alerts-log")["QueueUrl"]
        self.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=log, Attributes={"RawMessageDelivery": "true"})
        orders = self.sqs.create_queue(QueueName="orders")["QueueUrl"]
        cloudwatch.put_metric_alarm(**self.alarm())
        self.sqs.send_message(QueueUrl=orders, MessageBody="waiting")
        # Above the threshold for one 10 s period: then the state change arrives. No timing is
        # asserted; the loop only bounds how long the test waits.
        deadline = time.monotonic() + 60
        got = []
        while not got and time.monotonic() < deadline:
            got = self.sqs.receive_message(QueueUrl=log, WaitTimeSeconds=20).get("Messages", [])
        self.assertTrue(got, "the alarm never published")
        change = json.loads(got[0]["Body"])
        self.assertEqual((change["AlarmName"], change["NewStateValue"], change["OldStateValue"]),
                         ("orders-backlog", "ALARM", "OK"))
        self.assertEqual(change["AlarmDescription"], "orders pile up")
        self.assertEqual(change["Region"], "us-east-1")
        self.assertEqual(change["Trigger"]["MetricName"], "ApproximateNumberOfMessagesVisible")
        self.assertEqual(change["Trigger"]["Dimensions"], [{"value": "orders", "name": "QueueName"}])
        described = cloudwatch.describe_alarms(AlarmNames=["orders-backlog"])["MetricAlarms"]
        self.assertEqual(len(described), 1)
        a = described[0]
        self.assertEqual((a["StateValue"], a["Namespace"], a["Threshold"], a["Period"], a["EvaluationPeriods"]),
                         ("ALARM", "AWS/SQS", 0.0, 10, 1))
        self.assertEqual(a["Dimensions"], [{"Name": "QueueName", "Value": "orders"}])
        self.assertEqual(a["AlarmActions"], [topic])
        cloudwatch.delete_alarms(AlarmNames=["orders-backlog"])
        self.assertEqual(cloudwatch.describe_alarms(AlarmNames=["orders-backlog"])["MetricAlarms"], [])
        self.assertEqual(error_code(cloudwatch.delete_alarms, AlarmNames=["orders-backlog"]), "ResourceNotFound")

    def raw_log(self, topic, queue):
        arn = self.sns.create_topic(Name=topic)["TopicArn"]
        url = self.sqs.create_queue(QueueName=queue)["QueueUrl"]
        self.sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=url, Attributes={"RawMessageDelivery": "true"})
        return arn, url

    def changes(self, log, wanted):
        """State changes read from `log` until `wanted` (name, state) pairs were all seen."""
        seen = set()
        deadline = time.monotonic() + 90  # bounds the wait only; no timing is asserted
        while not wanted <= seen and time.monotonic() < deadline:
            for m in self.sqs.receive_message(QueueUrl=log, MaxNumberOfMessages=10,
                                              WaitTimeSeconds=20).get("Messages", []):
                change = json.loads(m["Body"])
                seen.add((change["AlarmName"], change["NewStateValue"]))
                self.sqs.delete_message(QueueUrl=log, ReceiptHandle=m["ReceiptHandle"])
        return seen

    def test_counts_per_period_below_thresholds_and_ok_actions(self):
        cloudwatch = self.node.client("cloudwatch")
        alerts, alerts_log = self.raw_log("burst-alerts", "burst-alerts-log")
        recovered, ok_log = self.raw_log("recovered", "recovered-log")
        traffic = self.sqs.create_queue(QueueName="traffic")["QueueUrl"]
        self.sqs.create_queue(QueueName="idle")
        cloudwatch.put_metric_alarm(**self.alarm(
            AlarmName="sent-burst", MetricName="NumberOfMessagesSent", Statistic="Sum",
            ComparisonOperator="GreaterThanOrEqualToThreshold", Threshold=3,
            Dimensions=[{"Name": "QueueName", "Value": "traffic"}], AlarmActions=[alerts],
            OKActions=[recovered]))
        cloudwatch.put_metric_alarm(**self.alarm(
            AlarmName="idle", ComparisonOperator="LessThanThreshold", Threshold=1,
            Dimensions=[{"Name": "QueueName", "Value": "idle"}], AlarmActions=[alerts]))
        cloudwatch.put_metric_alarm(**self.alarm(
            AlarmName="delayed", MetricName="ApproximateNumberOfMessagesDelayed",
            Dimensions=[{"Name": "QueueName", "Value": "traffic"}], AlarmActions=[alerts]))
        for body in ("a", "b", "c"):
            self.sqs.send_message(QueueUrl=traffic, MessageBody=body)
        self.sqs.send_message(QueueUrl=traffic, MessageBody="later", DelaySeconds=900)
        # Three sends within a period; an empty queue below 1; a delayed message.
        self.assertEqual(self.changes(alerts_log, {("sent-burst", "ALARM"), ("idle", "ALARM"),
                                                   ("delayed", "ALARM")}),
                         {("sent-burst", "ALARM"), ("idle", "ALARM"), ("delayed", "ALARM")})
        # No more sends: once a period passed without three, OK goes to OKActions' topic alone.
        self.assertEqual(self.changes(ok_log, {("sent-burst", "OK")}), {("sent-burst", "OK")})
        described = {a["AlarmName"]: a for a in cloudwatch.describe_alarms(
            AlarmNames=["sent-burst", "idle"])["MetricAlarms"]}
        self.assertEqual(described["sent-burst"]["OKActions"], [recovered])
        self.assertEqual(described["idle"]["ComparisonOperator"], "LessThanThreshold")
        self.assertEqual(described["idle"]["StateValue"], "ALARM")

    def test_what_mailroom_cannot_map_is_refused_by_name(self):
        cloudwatch = self.node.client("cloudwatch")
        self.sns.create_topic(Name="alerts")
        for overrides, named in ((dict(Namespace="AWS/EC2"), "AWS/EC2"),
                                 (dict(MetricName="CPUUtilization"), "CPUUtilization"),
                                 (dict(ComparisonOperator="LessThanLowerOrGreaterThanUpperThreshold"),
                                  "LessThanLowerOrGreaterThanUpperThreshold"),
                                 (dict(MetricName="NumberOfMessagesSent", Statistic="Average"), "Sum"),
                                 (dict(Period=15), "Period"),
                                 (dict(Statistic="p99"), "Statistic"),
                                 (dict(AlarmActions=["arn:aws:sns:us-east-1:123456789012:alerts",
                                                     "arn:aws:sns:us-east-1:123456789012:other"]), "AlarmActions"),
                                 (dict(OKActions=["arn:aws:sns:us-east-1:123456789012:alerts",
                                                  "arn:aws:sns:us-east-1:123456789012:other"]), "OKActions"),
                                 (dict(Dimensions=[{"Name": "InstanceId", "Value": "i-1"}]), "QueueName")):
            try:
                cloudwatch.put_metric_alarm(**self.alarm(**overrides))
                self.fail("accepted %r" % overrides)
            except cloudwatch.exceptions.ClientError as e:
                self.assertEqual(e.response["Error"]["Code"], "InvalidParameterValue", overrides)
                self.assertIn(named, e.response["Error"]["Message"])
        for threshold in ("1e400", "NaN", "0x10"):
            status, text = self.node.post(
                "Action=PutMetricAlarm&Version=2010-08-01&AlarmName=x&Namespace=AWS/SQS"
                "&MetricName=ApproximateNumberOfMessagesVisible&ComparisonOperator=GreaterThanThreshold"
                "&Statistic=Maximum&Dimensions.member.1.Name=QueueName&Dimensions.member.1.Value=orders"
                "&Period=10&EvaluationPeriods=1&Threshold=" + threshold)
            self.assertEqual(status, 400, text)
            self.assertIn("is not a finite number", text)


if __name__ == "__main__":
    mailroom_node.configure(sys.argv)
    unittest.main(verbosity=2)
