#!/usr/bin/env python3
"""Delegate task dispatch measured against a running server with delegates polling
(scripts/load/delegate-dispatch.sh starts them): enqueue -> claim latency of `ping`
tasks while the delegates wait in their long polls, and sustained tasks/s of a burst.

Latency is the claim's audit time (`delegate_task.claim`, written in the transaction that
hands the task to a delegate, just before the envelope goes out) minus the task's
`created_at` (the transaction that queued it): both server clock, microseconds. The
agent starts the task as soon as the envelope arrives, so this is enqueue -> delegate
start but for one loopback response.

  delegate_dispatch.py URL TOKEN CA_FILE NAME... [--paced N] [--burst N]
"""

import argparse
import http.client
import json
import ssl
import statistics
import threading
import time
import urllib.parse
from datetime import datetime

PROJECT = "/api/v1/orgs/default/projects/default"


class Api:
    def __init__(self, url, token, ca):
        parsed = urllib.parse.urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port
        self.token = token
        self.context = ssl.create_default_context(cafile=ca)
        self.connection = None

    def call(self, method, path, body=None):
        for attempt in range(3):
            if self.connection is None:
                self.connection = http.client.HTTPSConnection(
                    self.host, self.port, context=self.context, timeout=60)
            try:
                self.connection.request(method, path, body=json.dumps(body) if body is not None else None,
                                        headers={"authorization": f"Bearer {self.token}",
                                                 "content-type": "application/json"})
                response = self.connection.getresponse()
                data = response.read()
                if response.status >= 300:
                    raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
                return json.loads(data) if data else None
            except (http.client.HTTPException, ConnectionError):
                self.connection = None
                if attempt == 2:
                    raise

    def all(self, path):
        items, cursor = [], None
        while True:
            sep = "&" if "?" in path else "?"
            page = self.call("GET", f"{path}{sep}limit=500" + (f"&cursor={cursor}" if cursor else ""))
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items


def when(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def ping(api, name):
    return api.call("POST", f"{PROJECT}/delegates/{name}/ping", {})["id"]


def settle(api, ids, timeout=300):
    """Waits until none of `ids` is queued or running; returns the tasks."""
    deadline = time.time() + timeout
    wanted = set(ids)
    while time.time() < deadline:
        tasks = {t["id"]: t for t in api.all(f"{PROJECT}/delegate-tasks") if t["id"] in wanted}
        if len(tasks) == len(wanted) and all(t["status"] not in ("queued", "running") for t in tasks.values()):
            return list(tasks.values())
        time.sleep(0.5)
    raise RuntimeError("tasks did not settle")


def claims(api):
    return {e["resource_id"]: when(e["occurred_at"])
            for e in api.all("/api/v1/audit-events?action=delegate_task.claim")}


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def report(label, tasks, claimed):
    latencies = [(claimed[t["id"]] - when(t["created_at"])) * 1000 for t in tasks]
    failed = [t for t in tasks if t["status"] != "succeeded"]
    print(f"{label}: {len(tasks)} tasks, {len(failed)} not succeeded; enqueue -> claim "
          f"p50 {statistics.median(latencies):.1f} ms, p99 {percentile(latencies, 99):.1f} ms, "
          f"max {max(latencies):.1f} ms")
    return latencies


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("ca")
    parser.add_argument("names", nargs="+")
    parser.add_argument("--paced", type=int, default=400)
    parser.add_argument("--burst", type=int, default=2000)
    args = parser.parse_args()
    api = Api(args.url, args.token, args.ca)

    # Paced: one task every 25 ms, round robin, so each delegate is waiting in its poll.
    ids = []
    for n in range(args.paced):
        ids.append(ping(api, args.names[n % len(args.names)]))
        time.sleep(0.025)
    tasks = settle(api, ids)
    report(f"paced ({len(args.names)} delegates, one task every 25 ms)", tasks, claims(api))

    # Burst: queued as fast as 8 clients can, then drained by the delegates.
    burst, lock = [], threading.Lock()

    def enqueue(worker):
        own = Api(args.url, args.token, args.ca)
        for n in range(worker, args.burst, 8):
            task = ping(own, args.names[n % len(args.names)])
            with lock:
                burst.append(task)

    threads = [threading.Thread(target=enqueue, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tasks = settle(api, burst)
    claimed = claims(api)
    report("burst (queue depth up to %d)" % args.burst, tasks, claimed)
    first = min(when(t["created_at"]) for t in tasks)
    last = max(when(t["updated_at"]) for t in tasks)
    print(f"burst: {len(tasks)} tasks run and reported in {last - first:.2f} s = "
          f"{len(tasks) / (last - first):.0f} tasks/s sustained")


if __name__ == "__main__":
    main()
