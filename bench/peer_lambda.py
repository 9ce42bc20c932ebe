#!/usr/bin/env python3
"""The Python peer bench/lambda times beside the forwarder, as Lambda runs it: the runtime loop and
a handler written the way sample CloudWatch Logs -> SNS Lambdas are (boto3 client at import,
base64 + gzip + json, a substring test on every message, one sns.publish per batch with flagged
lines). It needs boto3 (the test venv, .venv, has it), ALERT_TOPIC_ARN and AWS_LAMBDA_RUNTIME_API.
"""
import base64
import gzip
import http.client
import json
import os

import boto3

TOKEN = "AUTHORIZER_CONFIGURATION_ERROR"
sns = boto3.client("sns")
TOPIC = os.environ["ALERT_TOPIC_ARN"]


def handler(event, context):
    payload = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    if payload.get("messageType") == "CONTROL_MESSAGE":
        return {"flagged": 0}
    flagged = [e["message"] for e in payload["logEvents"] if TOKEN in e["message"]]
    if flagged:
        body = "\n".join(["Log group: %s" % payload["logGroup"], "Lines: %d" % len(flagged), ""] + flagged[:20])
        sns.publish(TopicArn=TOPIC, Subject=("API authorizer error (%d)" % len(flagged))[:100], Message=body)
    return {"flagged": len(flagged)}


def main():
    conn = http.client.HTTPConnection(os.environ["AWS_LAMBDA_RUNTIME_API"])
    while True:
        conn.request("GET", "/2018-06-01/runtime/invocation/next")
        r = conn.getresponse()
        rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
        event = json.loads(r.read())
        out = json.dumps(handler(event, None)).encode()
        conn.request("POST", "/2018-06-01/runtime/invocation/%s/response" % rid, body=out)
        conn.getresponse().read()


main()
