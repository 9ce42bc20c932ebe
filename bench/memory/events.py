#!/usr/bin/env python3
"""Write the events that test the function's memory against its inflate cap.

    python3 bench/memory/events.py DIR --cap-mib N

DIR/small.json: a subscription event of 10 flagged lines (the function's resting cost).
DIR/flagged.json: a subscription event whose payload inflates to just under N MiB (64 KiB less),
every line flagged, in the default format: the largest batch the function must handle.
DIR/short.json: the same size, every line flagged but as short as a real line gets (a format of
just `$context.requestId $context.authorizer.error`): the most events, so the most bytes of
bookkeeping, per payload byte.
DIR/bomb.json: a subscription event whose gzip inflates to 1 MiB more than the cap (mostly
spaces, so it is a few hundred KiB): it must be refused by name, cheaply.

Deterministic (fixed seed, gzip mtime 0). Stdlib only.
"""
import argparse
import base64
import gzip
import json
import os
import random
import string
import zlib

TOKEN = "AUTHORIZER_CONFIGURATION_ERROR"
ERRORS = [
    "The IAM role configured on the authorizer or API Gateway doesn't have permissions to call "
    "the authorizer. Check the permissions and try again.",
    "The response from the Lambda Authorizer function doesn't match the format that API Gateway "
    "expects. Simple response did not include 'isAuthorized'",
    "Authorizer request timed out after 10000 ms",
]
ROUTES = ["GET /v1/orders/{orderId}", "POST /v1/orders", "GET /v1/catalog/{productId}", "ANY /{proxy+}"]
HEAD = ('{"messageType":"DATA_MESSAGE","owner":"123456789012",'
        '"logGroup":"/aws/vendedlogs/apigateway/bench-api/prod",'
        '"logStream":"b3nch4p1id_$default","subscriptionFilters":["authorizer-errors"],"logEvents":[')


def event(payload: bytes, level: int) -> str:
    data = base64.b64encode(gzip.compress(payload, compresslevel=level, mtime=0)).decode()
    return json.dumps({"awslogs": {"data": data}})


def flagged(size: int, rnd: random.Random, short: bool = False) -> bytes:
    """A payload of fully flagged lines, `size` bytes or just under."""
    alnum = string.ascii_letters + string.digits
    parts, total, k = [HEAD], len(HEAD) + 2, 0
    ms = 1_764_000_000_000
    while True:
        route = rnd.choice(ROUTES)
        rid = "".join(rnd.choice(alnum) for _ in range(14)) + "="
        if short:
            line = "%s %s,%s" % (rid, TOKEN, ERRORS[2])
        else:
            line = '203.0.113.%d - - [24/Nov/2026:10:00:%02d +0000] "%s HTTP/1.1" 500 35 %s %s,%s' % (
                rnd.randint(1, 254), k % 60, route, rid, TOKEN, rnd.choice(ERRORS))
        item = json.dumps({"id": "%056d" % k, "timestamp": ms + k, "message": line},
                          separators=(",", ":"))
        if total + len(item) + 1 > size:
            break
        parts.append(("," if k else "") + item)
        total += len(item) + (1 if k else 0)
        k += 1
    parts.append("]}")
    return "".join(parts).encode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir")
    ap.add_argument("--cap-mib", type=int, required=True)
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    rnd = random.Random(1125)
    cap = a.cap_mib << 20
    small = flagged(4000, rnd)
    big = flagged(cap - (64 << 10), rnd)
    short = flagged(cap - (64 << 10), rnd, short=True)
    # The bomb: a payload's start, then spaces up to 1 MiB past the cap, compressed in pieces so
    # writing it holds little memory.
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    start = (HEAD + '{"id":"1","timestamp":1,"message":"').encode()
    pieces = [comp.compress(start)]
    left = cap + (1 << 20) - len(start)
    chunk = b" " * (1 << 20)
    while left > 0:
        pieces.append(comp.compress(chunk[:min(left, len(chunk))]))
        left -= len(chunk)
    pieces.append(comp.compress(b'"}]}'))
    pieces.append(comp.flush())
    bomb = base64.b64encode(b"".join(pieces)).decode()
    files = {
        "small.json": event(small, 6),
        "flagged.json": event(big, 6),
        "short.json": event(short, 6),
        "bomb.json": json.dumps({"awslogs": {"data": bomb}}),
    }
    for name, text in files.items():
        with open(os.path.join(a.dir, name), "w") as f:
            f.write(text)
    print("cap %d MiB: flagged payload %d bytes (%d lines), event %d bytes; short lines %d bytes (%d lines); "
          "bomb inflates to %d bytes, event %d bytes"
          % (a.cap_mib, len(big), big.count(b'"id"'), len(files["flagged.json"]), len(short),
             short.count(b'"id"'), cap + (1 << 20) + 4, len(files["bomb.json"])))


if __name__ == "__main__":
    main()
