#!/usr/bin/env python3
"""Tallies committed PostgreSQL transactions by request and kind (BENCHMARKS.md, "Where the
transactions of a checkout go"); run by txn-profile.sh.

    txn-tally.py PG_LOG_PART SERVER_LOG DATABASE CHECKOUTS IDLE_FROM IDLE_TO

PG_LOG_PART: the part of PostgreSQL's log written during the run, with
log_min_duration_statement = 0 on DATABASE and log_line_prefix starting '%m [%p] '
(time stamp, backend pid). SERVER_LOG: the server's JSON log with the rest crate's request
lines (RUST_LOG=warn,rest=info, COMMERCE_LOG_FORMAT=json). CHECKOUTS: checkouts completed in
the shopper window. IDLE_FROM, IDLE_TO: UNIX seconds of the idle phase before the load.

A transaction is a BEGIN ... COMMIT block on one backend, or one statement executed outside
such a block (each commits on its own: what pg_stat_database.xact_commit counts). Each is named
by its statements (events appended or loaded name their aggregate type), and attributed to the
HTTP request whose time span covers its commit, or to "background" (saga steps run in the
background while the long-poll waits are attributed to that poll; see "during" below).
"""

import json
import re
import sys
from collections import Counter, defaultdict
from datetime import datetime, timezone

LINE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) \w+ \[(\d+)\] (\S*)@(\S*) (\w+):  (.*)$"
)
DURATION = re.compile(r"^duration: [\d.]+ ms  (parse|bind|execute|statement)( [^:]*)?: (.*)$")


def pg_time(text):
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp()


def statements(path, database):
    """(time, pid, sql, parameters) of every executed statement of `database`, in log order."""
    current = None
    with open(path, errors="replace") as log:
        for raw in log:
            line = raw.rstrip("\n")
            m = LINE.match(line)
            if not m:
                if current is not None and current["kind"] is not None and not current["params_seen"]:
                    current["sql"] += " " + line.strip()
                continue
            stamp, pid, _user, db, level, message = m.groups()
            if db != database:
                if current is not None:
                    yield current
                current = None
                continue
            if level == "DETAIL" and message.startswith("parameters:") and current is not None:
                current["params"] = message
                current["params_seen"] = True
                continue
            if current is not None:
                yield current
                current = None
            d = DURATION.match(message) if level == "LOG" else None
            if d and d.group(1) in ("execute", "statement"):
                current = {
                    "time": pg_time(stamp),
                    "pid": pid,
                    "sql": d.group(3),
                    "params": "",
                    "params_seen": False,
                    "kind": d.group(1),
                }
    if current is not None:
        yield current


def first_param(params):
    m = re.match(r"parameters: \$1 = '([^']*)'", params)
    return m.group(1) if m else "?"


def name(statement):
    """A short name of what a statement does."""
    sql = " ".join(statement["sql"].split())
    upper = sql.upper()
    if upper in ("BEGIN", "COMMIT", "ROLLBACK"):
        return upper
    m = re.match(r"(?i)insert into (\w+)", sql)
    if m:
        table = m.group(1)
        if table == "events":
            return "append " + first_param(statement["params"])
        if table == "read_documents":
            return "write read model " + first_param(statement["params"])
        return "insert " + table
    m = re.match(r"(?i)update (\w+)", sql)
    if m:
        return "update " + m.group(1)
    m = re.match(r"(?i)delete from (\w+)", sql)
    if m:
        return "delete " + m.group(1)
    if re.search(r"(?i)from events\b", sql):
        if re.search(r"(?i)aggregate_type\s*=\s*\$1", sql):
            return "load " + first_param(statement["params"])
        return "read feed"
    m = re.search(r"(?i)from (\w+)", sql)
    if m:
        table = m.group(1)
        if table == "read_documents":
            return "read read model " + first_param(statement["params"])
        return "select " + table
    m = re.match(r"(?i)select (pg_\w+|\w+\()", sql)
    if m:
        return "select " + m.group(1).rstrip("(")
    return sql[:40]


def transactions(path, database):
    """(commit time, name) of every committed transaction."""
    open_blocks = {}
    for st in statements(path, database):
        n = name(st)
        pid = st["pid"]
        if n == "BEGIN":
            open_blocks[pid] = []
        elif n == "COMMIT":
            parts = open_blocks.pop(pid, [])
            yield st["time"], "tx[" + ", ".join(collapse(parts)) + "]"
        elif n == "ROLLBACK":
            open_blocks.pop(pid, None)
        elif pid in open_blocks:
            open_blocks[pid].append(n)
        else:
            yield st["time"], n


def collapse(parts):
    out = []
    for part in parts:
        if out and out[-1][0] == part:
            out[-1][1] += 1
        else:
            out.append([part, 1])
    return [p if c == 1 else f"{p} x{c}" for p, c in out]


def requests(path):
    """(start, end, route) of every request the server logged."""
    out = []
    with open(path, errors="replace") as log:
        for line in log:
            try:
                j = json.loads(line)
            except ValueError:
                continue
            fields = j.get("fields", {})
            if fields.get("message") != "request":
                continue
            end = datetime.fromisoformat(j["timestamp"].replace("Z", "+00:00")).timestamp()
            start = end - fields.get("elapsed_ms", 0) / 1000 - 0.001
            path_ = fields.get("path", "?")
            route = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "{id}", path_)
            out.append((start, end + 0.001, f"{fields.get('method', '?')} {route}"))
    return out


def main():
    pg_log, server_log, database, checkouts, idle_from, idle_to = sys.argv[1:7]
    checkouts = int(checkouts)
    idle_from, idle_to = float(idle_from), float(idle_to)
    reqs = requests(server_log)
    carts = [r[0] for r in reqs if r[2] == "POST /v1/carts"]
    if not carts:
        sys.exit("no shopper requests in the server log")
    first_cart = min(carts)
    # The shopper's window: from its first browse (the listing just before its first cart;
    # the run's set-up, restocking and codes and shipping, comes before) to its last request
    # before the audit's reads (orders, payments, stock), which start after the shopping.
    browse = [r[0] for r in reqs if r[2] == "GET /v1/products" and r[0] < first_cart]
    window_from = max(browse) if browse else first_cart
    audit = [r[0] for r in reqs if r[0] > first_cart
             and r[2].startswith(("GET /v1/orders", "GET /v1/admin"))]
    audit_from = min(audit) if audit else float("inf")
    window_to = max(r[1] for r in reqs if r[1] <= audit_from
                    and (" /v1/carts" in r[2] or r[2].startswith("GET /v1/checkouts")))
    idle = Counter()
    by_request = defaultdict(Counter)
    total = 0
    for at, n in transactions(pg_log, database):
        if idle_from <= at <= idle_to:
            idle[n] += 1
        if not window_from <= at <= window_to:
            continue
        total += 1
        covering = [r for r in reqs if r[0] <= at <= r[1]]
        route = min(covering, key=lambda r: r[1] - r[0])[2] if covering else "background"
        by_request[route][n] += 1
    calls = Counter(r[2] for r in reqs if window_from <= r[0] and r[1] <= window_to + 0.01)
    idle_secs = idle_to - idle_from
    window_secs = window_to - window_from
    idle_total = sum(idle.values())
    print(f"shopper window {window_secs:.1f} s, {checkouts} checkouts completed, "
          f"{total} transactions committed: {total / checkouts:.1f} per checkout")
    print(f"idle {idle_secs:.1f} s before the load: {idle_total} transactions, "
          f"{idle_total / idle_secs:.2f}/s, i.e. {idle_total / idle_secs * window_secs / checkouts:.1f} "
          "per checkout at the window's pace")
    for n, c in idle.most_common():
        print(f"    {c / idle_secs:8.2f}/s  {n}")
    print()
    print("per checkout, by transaction (all requests and background; batches of any size as one kind):")
    kinds = Counter()
    for counts in by_request.values():
        for n, c in counts.items():
            kinds[re.sub(r" x\d+", " xN", n)] += c
    for n, c in kinds.most_common():
        print(f"    {c / checkouts:7.2f}  {n}")
    print()
    print("per checkout, by request (calls per checkout) and transaction:")
    order = sorted(by_request, key=lambda r: -sum(by_request[r].values()))
    for route in order:
        counts = by_request[route]
        print(f"{sum(counts.values()) / checkouts:7.2f}  {route}"
              + (f"  ({calls[route] / checkouts:.2f} calls)" if route in calls else ""))
        for n, c in counts.most_common():
            print(f"    {c / checkouts:7.2f}  {n}")


if __name__ == "__main__":
    main()
