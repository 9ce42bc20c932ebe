#!/usr/bin/env python3
"""Writes the subscription events of the ten-event CLI target and of the Lambda path.

    bench/gen_events.py DIR [--files N] [--lines L] [--flagged-pct P]
    bench/gen_events.py --lambda DIR

DIR/event-NN.json: N CloudWatch Logs subscription events ({"awslogs":{"data":...}}), each a
DATA_MESSAGE batch of L default-format access-log lines (default 10,000, about 1.3 MB of log
text) with about P% (default 1) flagged lines, both AWS causes. bench/run writes the ten-event set
with --files 10 --lines 10000 --flagged-pct 1.

--lambda DIR: DIR/small.json (10 lines) and DIR/large.json (10,000 lines), every line flagged, as a
subscription filter on "AUTHORIZER_CONFIGURATION_ERROR" delivers them; bench/lambda times these.

Deterministic (fixed seed, gzip mtime 0), stdlib only: the same bytes on every machine, and the
same events the figures in BENCHMARKS.md were first measured on.
"""
import argparse
import base64
import datetime
import gzip
import json
import os
import random
import string

SEED = 1125
TOKEN = "AUTHORIZER_CONFIGURATION_ERROR"
PERM = ("The IAM role configured on the authorizer or API Gateway doesn't have "
        "permissions to call the authorizer. Check the permissions and try again.")
FMT = ("The response from the Lambda Authorizer function doesn't match the format "
       "that API Gateway expects. Simple response did not include 'isAuthorized'")
ROUTES = [
    ("GET", "GET /v1/customers/{customerId}/orders/{orderId}"),
    ("POST", "POST /v1/customers/{customerId}/orders"),
    ("GET", "GET /v1/catalog/products/{productId}/reviews"),
    ("PUT", "PUT /v1/carts/{cartId}/items/{itemId}"),
    ("GET", "ANY /{proxy+}"),
    ("GET", "$default"),
    ("GET", "GET /health"),
    ("GET", "GET /v1/organizations/{orgId}/projects/{projectId}/deployments/{deploymentId}"),
    ("PATCH", "PATCH /v1/organizations/{orgId}/members/{memberId}/preferences"),
]
HEALTHY = [(200, "-")] * 40 + [(201, "-"), (204, "-"), (401, "-"), (403, "-"), (404, "-"), (500, "-")]


def events(files, lines, flagged_pct):
    """Yields each event's file content, the same sequence for the same arguments."""
    rnd = random.Random(SEED)
    alnum = string.ascii_letters + string.digits
    t = datetime.datetime(2026, 11, 24, 10, 0, 0, tzinfo=datetime.timezone.utc)
    for _ in range(files):
        batch = []
        for k in range(lines):
            t += datetime.timedelta(microseconds=rnd.randint(1000, 60000))
            method, route = rnd.choice(ROUTES)
            rid = "".join(rnd.choice(alnum) for _ in range(14)) + "="
            if rnd.random() * 100 < flagged_pct:
                status, length = 500, 35
                err = TOKEN + "," + (PERM if rnd.random() < 0.5 else FMT)
            else:
                status, err = rnd.choice(HEALTHY)
                length = 35 if status == 500 else rnd.randint(2, 9000)
            line = '%s - - [%s] "%s %s HTTP/1.1" %d %d %s %s' % (
                "%s.%d" % (rnd.choice(["203.0.113", "198.51.100", "192.0.2"]), rnd.randint(1, 254)),
                t.strftime("%d/%b/%Y:%H:%M:%S +0000"), method, route, status, length, rid, err)
            ms = int(t.timestamp() * 1000)
            batch.append({"id": "%037d%019d" % (ms * 1000 + k, rnd.randint(0, 10**18)),
                          "timestamp": ms, "message": line})
        payload = json.dumps({
            "messageType": "DATA_MESSAGE", "owner": "123456789012",
            "logGroup": "/aws/apigateway/bench-api/prod-access",
            "logStream": "b3nch4p1id_$default",
            "subscriptionFilters": ["authorizer-config-errors"],
            "logEvents": batch,
        }, separators=(",", ":")).encode()
        data = base64.b64encode(gzip.compress(payload, compresslevel=6, mtime=0)).decode()
        yield json.dumps({"awslogs": {"data": data}})


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--lines", type=int, default=10000)
    ap.add_argument("--flagged-pct", type=float, default=1.0)
    ap.add_argument("--lambda", dest="lambda_events", action="store_true",
                    help="write small.json and large.json, every line flagged, for bench/lambda")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    if a.lambda_events:
        # Each from a fresh generator, so each is the first event of its own set.
        write(os.path.join(a.dir, "small.json"), next(events(1, 10, 100)))
        write(os.path.join(a.dir, "large.json"), next(events(1, 10000, 100)))
        return
    for n, text in enumerate(events(a.files, a.lines, a.flagged_pct)):
        write(os.path.join(a.dir, "event-%02d.json" % n), text)


if __name__ == "__main__":
    main()
