#!/usr/bin/env python3
"""A stand-in OTLP/HTTP collector for the bench scripts (tracing.sh).

    otlp-sink.py PORT [--names]

Answers 200 with an empty protobuf body to every POST (OTLP/HTTP: /v1/traces, /v1/metrics,
/v1/logs), keeps nothing, and counts per path the requests and the bytes received; for
/v1/traces it also counts the spans (walking ExportTraceServiceRequest -> ResourceSpans ->
ScopeSpans -> Span on the wire, without decoding the spans), and with --names the spans per
name. GET /stats answers the counts as JSON. Keep-alive HTTP/1.1, as a collector would.
"""

import gzip
import json
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATS = {}  # path -> {"requests", "bytes", "spans"}
NAMES = Counter()
WANT_NAMES = "--names" in sys.argv[2:]


def fields(buf):
    """Yields (field number, wire type, value) of one protobuf message; LEN values as
    memoryviews, others as ints."""
    i, n = 0, len(buf)
    while i < n:
        key, i = varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(buf, i)
        elif wire == 1:
            value, i = 0, i + 8
        elif wire == 5:
            value, i = 0, i + 4
        elif wire == 2:
            length, i = varint(buf, i)
            value, i = buf[i:i + length], i + length
        else:
            raise ValueError(f"wire type {wire}")
        yield number, wire, value


def varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7


def count_spans(body):
    spans = 0
    for number, wire, resource_spans in fields(memoryview(body)):
        if number != 1 or wire != 2:
            continue
        for number, wire, scope_spans in fields(resource_spans):
            if number != 2 or wire != 2:
                continue
            for number, wire, span in fields(scope_spans):
                if number != 2 or wire != 2:
                    continue
                spans += 1
                if WANT_NAMES:
                    for n, w, value in fields(span):
                        if n == 5 and w == 2:
                            NAMES[bytes(value).decode("utf-8", "replace")] += 1
                            break
    return spans


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        spans = 0
        if self.path == "/v1/traces":
            raw = body
            if self.headers.get("Content-Encoding") == "gzip":
                raw = gzip.decompress(body)
            try:
                spans = count_spans(raw)
            except (ValueError, IndexError):
                spans = 0
        with LOCK:
            entry = STATS.setdefault(self.path, {"requests": 0, "bytes": 0, "spans": 0})
            entry["requests"] += 1
            entry["bytes"] += length
            entry["spans"] += spans
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        with LOCK:
            answer = {"paths": STATS, "span_names": dict(NAMES.most_common())}
            body = json.dumps(answer).encode()
        self.send_response(200 if self.path == "/stats" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
