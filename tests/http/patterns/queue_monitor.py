# Verbatim from the problem statement (../shared/reference/message-queue-patterns.md);
# tests/http/patterns_test.py runs it against a node with only the endpoint URL injected.
# Queue monitoring and alerting
import boto3
from typing import Dict, Any
from datetime import datetime, timedelta

class QueueMonitor:
    """Message queue monitoring"""

    def __init__(self):
        self.cloudwatch = boto3.client('cloudwatch')
        self.sqs = boto3.client('sqs')

    def get_queue_metrics(self, queue_url: str) -> Dict[str, Any]:
        """Get queue metrics"""
        queue_name = queue_url.split('/')[-1]

        # Get approximate number of messages
        response = self.sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=[
                'ApproximateNumberOfMessages',
                'ApproximateNumberOfMessagesNotVisible',
                'ApproximateAgeOfOldestMessage'
            ]
        )

        attributes = response['Attributes']

        return {
            'visible_messages': int(attributes.get('ApproximateNumberOfMessages', 0)),
            'in_flight_messages': int(attributes.get('ApproximateNumberOfMessagesNotVisible', 0)),
            'oldest_message_age': int(attributes.get('ApproximateAgeOfOldestMessage', 0))
        }

    def create_queue_alarm(self, queue_name: str, metric_name: str,
                          threshold: float, alarm_name: str):
        """Create CloudWatch alarm for queue"""
        self.cloudwatch.put_metric_alarm(
            AlarmName=alarm_name,
            AlarmDescription=f'Alarm for {metric_name} on {queue_name}',
            MetricName=metric_name,
            Namespace='AWS/SQS',
            Statistic='Average',
            Period=300,
            EvaluationPeriods=3,
            Threshold=threshold,
            ComparisonOperator='GreaterThanThreshold',
            Dimensions=[
                {
                    'Name': 'QueueName',
                    'Value': queue_name
                }
            ],
            AlarmActions=[],
            OKActions=[]
        )

    def monitor_dlq(self, dlq_url: str, threshold: int = 100):
        """Monitor dead letter queue"""
        metrics = self.get_queue_metrics(dlq_url)

        if metrics['visible_messages'] > threshold:
            self._send_dlq_alert(dlq_url, metrics)

    def _send_dlq_alert(self, dlq_url: str, metrics: Dict[str, Any]):
        """Send DLQ alert"""
        sns = boto3.client('sns')
        sns.publish(
            TopicArn='arn:aws:sns:us-east-1:123456789012:alerts',
            Message=f"DLQ threshold exceeded: {metrics['visible_messages']} messages",
            Subject='DLQ Alert'
        )
