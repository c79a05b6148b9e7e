"""A real mailroomd for the HTTP tests: its own directory, free loopback ports for the client
endpoint and the HTTP API, started and stopped with it. The binaries come from the command
line (see configure())."""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import boto3
import botocore.config
import botocore.exceptions

MAILROOMD = None
AWS_CLI = "/usr/bin/aws"
MAILROOM_CLI = None


def configure(argv):
    """Takes MAILROOMD AWS_CLI MAILROOM_CLI off the command line, leaving unittest's own."""
    global MAILROOMD, AWS_CLI, MAILROOM_CLI
    MAILROOMD, AWS_CLI, MAILROOM_CLI = argv[1:4]
    del argv[1:4]
    import warnings
    warnings.simplefilter("ignore", ResourceWarning)  # botocore leaves pooled sockets to the GC


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Node:
    """A mailroomd process with its client endpoint and HTTP API on free loopback ports."""

    def __init__(self, toml_extra="", files=None, env=None):
        """`toml_extra` follows the [node] table (more [node] keys, or other tables); `files`
        (name: text) are written beside the config first; `env` is added to the environment."""
        self.dir = tempfile.mkdtemp(prefix="mailroom-http-")
        for name, text in (files or {}).items():
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(text)
        self.port = free_port()
        self.http = free_port()
        config = os.path.join(self.dir, "node.toml")
        with open(config, "w") as f:
            f.write('[node]\ndata_dir = "%s/data"\nlisten = "127.0.0.1:%d"\nhttp = "127.0.0.1:%d"\n%s'
                    % (self.dir, self.port, self.http, toml_extra))
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen([MAILROOMD, "--config", config], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=dict(os.environ, **(env or {})))
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = open(self.log.name).read()
                self.stop()
                raise RuntimeError("mailroomd did not start: " + log)
            time.sleep(0.05)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.http

    def client(self, name="sqs", region="us-east-1", key="test", secret="test", **config):
        return boto3.client(name, endpoint_url=self.url, region_name=region,
                            aws_access_key_id=key, aws_secret_access_key=secret,
                            config=botocore.config.Config(retries={"max_attempts": 1}, **config))

    def post(self, body, path="/", headers=None):
        """A raw request: (status, body text)."""
        data = body if isinstance(body, bytes) else body.encode()
        req = urllib.request.Request(self.url + path, data=data, method="POST",
                                     headers=headers or {"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=60)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def error_code(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
    raise AssertionError("no error")


class NodeTest(unittest.TestCase):
    """One node for the whole test class, with an SQS and an SNS client."""

    @classmethod
    def setUpClass(cls):
        cls.node = Node()
        cls.sqs = cls.node.client("sqs")
        cls.sns = cls.node.client("sns")

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
