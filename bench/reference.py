#!/usr/bin/env python3
"""A forwarder written the way typical sample Lambdas are: stdlib only, `in` on each message.

It is the yardstick for `bench/run`: the same event files go through this and through
`forwarder scan`, each as a whole process. It does what such samples do and no more (no context
check, no causes, no rendering), so the comparison flatters it.
"""
import base64
import gzip
import json
import sys

TOKEN = "AUTHORIZER_CONFIGURATION_ERROR"


def handler(event, context=None):
    payload = json.loads(gzip.decompress(base64.b64decode(event["awslogs"]["data"])))
    if payload["messageType"] == "CONTROL_MESSAGE":
        return {"flagged": 0}
    flagged = [e for e in payload["logEvents"] if TOKEN in e["message"]]
    return {"flagged": len(flagged), "logGroup": payload["logGroup"]}


def main(paths):
    total = 0
    for path in paths:
        with open(path, "rb") as f:
            total += handler(json.load(f))["flagged"]
    print(f"{total} flagged")


if __name__ == "__main__":
    main(sys.argv[1:])
