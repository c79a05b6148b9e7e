# Verbatim from the problem statement (../shared/reference/message-queue-patterns.md);
# tests/http/patterns_test.py runs it against a node with only the endpoint URL injected.
# Dead letter queue with retry logic
import boto3
import json
from typing import Dict, Any, Callable, Optional
from dataclasses import dataclass
from datetime import datetime, timedelta
import time

@dataclass
class QueueConfig:
    queue_name: str
    dead_letter_queue_name: str
    max_retries: int = 3
    visibility_timeout: int = 30
    message_retention: int = 1209600  # 14 days

class DeadLetterQueueManager:
    """Dead letter queue manager with retry logic"""

    def __init__(self, config: QueueConfig):
        self.config = config
        self.sqs = boto3.client('sqs')

        # Create queues
        self.queue_url = self._create_queue(config.queue_name)
        self.dlq_url = self._create_queue(config.dead_letter_queue_name)

    def _create_queue(self, queue_name: str) -> str:
        """Create SQS queue"""
        response = self.sqs.create_queue(
            QueueName=queue_name,
            Attributes={
                'VisibilityTimeout': str(self.config.visibility_timeout),
                'MessageRetentionPeriod': str(self.config.message_retention),
                'ReceiveMessageWaitTimeSeconds': '20'
            }
        )
        return response['QueueUrl']

    def send_message(self, message: Dict[str, Any], 
                    delay_seconds: int = 0) -> str:
        """Send message to queue"""
        response = self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=json.dumps(message, default=str),
            DelaySeconds=delay_seconds
        )
        return response['MessageId']

    def receive_messages(self, max_messages: int = 10) -> list:
        """Receive messages from queue"""
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=20,
            MessageAttributeNames=['All'],
            VisibilityTimeout=self.config.visibility_timeout
        )
        return response.get('Messages', [])

    def process_message(self, message: Dict[str, Any], 
                       handler: Callable) -> bool:
        """Process message with retry logic"""
        try:
            # Process message
            handler(message)

            # Delete message on success
            self.sqs.delete_message(
                QueueUrl=self.queue_url,
                ReceiptHandle=message['ReceiptHandle']
            )
            return True

        except Exception as e:
            # Get retry count
            retry_count = int(
                message.get('MessageAttributes', {})
                .get('RetryCount', {})
                .get('StringValue', '0')
            )

            if retry_count >= self.config.max_retries:
                # Move to DLQ
                self._move_to_dlq(message, str(e))
                return False
            else:
                # Increment retry count and requeue
                self._requeue_with_retry(message, retry_count + 1)
                return False

    def _move_to_dlq(self, message: Dict[str, Any], error: str):
        """Move message to dead letter queue"""
        dlq_message = {
            'original_message': message['Body'],
            'error': error,
            'timestamp': datetime.utcnow().isoformat(),
            'retry_count': self.config.max_retries,
            'queue_name': self.config.queue_name
        }

        self.sqs.send_message(
            QueueUrl=self.dlq_url,
            MessageBody=json.dumps(dlq_message, default=str)
        )

        # Delete from main queue
        self.sqs.delete_message(
            QueueUrl=self.queue_url,
            ReceiptHandle=message['ReceiptHandle']
        )

    def _requeue_with_retry(self, message: Dict[str, Any], retry_count: int):
        """Requeue message with incremented retry count"""
        # Update retry count attribute
        attributes = message.get('MessageAttributes', {})
        attributes['RetryCount'] = {
            'StringValue': str(retry_count),
            'DataType': 'Number'
        }

        # Requeue with delay
        delay = min(retry_count * 10, 900)  # Max 15 minutes
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=message['Body'],
            DelaySeconds=delay,
            MessageAttributes=attributes
        )

        # Delete original message
        self.sqs.delete_message(
            QueueUrl=self.queue_url,
            ReceiptHandle=message['ReceiptHandle']
        )

    def get_dlq_messages(self, max_messages: int = 10) -> list:
        """Get messages from dead letter queue"""
        response = self.sqs.receive_message(
            QueueUrl=self.dlq_url,
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=5
        )
        return response.get('Messages', [])

    def retry_dlq_messages(self, handler: Callable, max_retries: int = 10):
        """Retry messages from DLQ"""
        messages = self.get_dlq_messages(max_retries)

        for message in messages:
            try:
                # Parse DLQ message
                dlq_message = json.loads(message['Body'])
                original_message = json.loads(dlq_message['original_message'])

                # Retry processing
                handler(original_message)

                # Delete from DLQ on success
                self.sqs.delete_message(
                    QueueUrl=self.dlq_url,
                    ReceiptHandle=message['ReceiptHandle']
                )

            except Exception as e:
                print(f"DLQ retry failed: {e}")
