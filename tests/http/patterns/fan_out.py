# Verbatim from the problem statement (../shared/reference/message-queue-patterns.md);
# tests/http/patterns_test.py runs it against a node with only the endpoint URL injected.
# Fan-out message pattern
import boto3
import json
from typing import Dict, Any, List
from dataclasses import dataclass

@dataclass
class FanOutConfig:
    topic_arn: str
    subscription_arns: List[str]

class FanOutManager:
    """Fan-out message distribution"""

    def __init__(self):
        self.sns = boto3.client('sns')
        self.sqs = boto3.client('sqs')

    def create_topic(self, topic_name: str) -> str:
        """Create SNS topic"""
        response = self.sns.create_topic(Name=topic_name)
        return response['TopicArn']

    def subscribe_queue(self, topic_arn: str, queue_url: str) -> str:
        """Subscribe SQS queue to SNS topic"""
        response = self.sns.subscribe(
            TopicArn=topic_arn,
            Protocol='sqs',
            Endpoint=queue_url
        )
        return response['SubscriptionArn']

    def publish_to_fanout(self, topic_arn: str, message: Dict[str, Any],
                         message_attributes: Dict[str, str] = None):
        """Publish message to fan-out topic"""
        attributes = {}
        if message_attributes:
            for key, value in message_attributes.items():
                attributes[key] = {
                    'DataType': 'String',
                    'StringValue': value
                }

        self.sns.publish(
            TopicArn=topic_arn,
            Message=json.dumps(message, default=str),
            MessageAttributes=attributes
        )

    def setup_fanout(self, topic_name: str, 
                    queue_names: List[str]) -> FanOutConfig:
        """Setup complete fan-out pattern"""
        # Create topic
        topic_arn = self.create_topic(topic_name)

        # Create and subscribe queues
        subscription_arns = []
        for queue_name in queue_names:
            # Create queue
            queue_url = self.sqs.create_queue(
                QueueName=queue_name
            )['QueueUrl']

            # Subscribe to topic
            subscription_arn = self.subscribe_queue(topic_arn, queue_url)
            subscription_arns.append(subscription_arn)

        return FanOutConfig(
            topic_arn=topic_arn,
            subscription_arns=subscription_arns
        )

class ContentBasedRouter:
    """Content-based message routing"""

    def __init__(self):
        self.sns = boto3.client('sns')
        self.routes: Dict[str, str] = {}

    def add_route(self, pattern: str, topic_arn: str):
        """Add routing rule"""
        self.routes[pattern] = topic_arn

    def route_message(self, message: Dict[str, Any]) -> bool:
        """Route message based on content"""
        message_type = message.get('type', '')

        for pattern, topic_arn in self.routes.items():
            if pattern in message_type:
                self.sns.publish(
                    TopicArn=topic_arn,
                    Message=json.dumps(message, default=str)
                )
                return True

        return False
