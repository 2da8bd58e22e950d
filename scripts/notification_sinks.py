#!/usr/bin/env python3
"""Loopback receivers for the notification delivery and runbook tests: an SMTP server (aiosmtpd,
PyPI) and an HTTP server, both recording what they receive as JSON lines in --log.

HTTP paths:
  /slack    a Slack-compatible incoming webhook: JSON with a string "text" -> 200 "ok",
            anything else -> 400 (what Slack answers: "invalid_payload").
  /signed   checks X-Rampart-Signature (t=<unix seconds>,v1=<hex>) with Python's own
            hmac -- an implementation independent of Rampart's -- against the secret
            in --secret-file, within 300 s of now -> 200, else 401.
  /hooks/*  a runbook's HTTP step -> 200 "done: <body>" (its Authorization recorded).
  other     404.

Prints "smtp=<port> http=<port>" on one line once both listen; runs until killed.
"""

import argparse
import asyncio
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.smtp import SMTP

LOCK = threading.Lock()


def record(log, entry):
    with LOCK, open(log, "a", encoding="utf-8") as out:
        out.write(json.dumps(entry) + "\n")


def signature_valid(header, body, secret):
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        sent_at = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - sent_at) > 300:
        return False
    expected = hmac.new(secret, str(sent_at).encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts.get("v1", ""))


def http_handler(log, secret_file):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status, answer, valid = 404, b"not found", None
            if self.path == "/slack":
                try:
                    payload = json.loads(body)
                    ok = isinstance(payload.get("text"), str) and payload["text"]
                except ValueError:
                    ok = False
                status, answer = (200, b"ok") if ok else (400, b"invalid_payload")
            elif self.path == "/signed":
                with open(secret_file, "rb") as f:
                    secret = f.read().strip()
                header = self.headers.get("x-rampart-signature", "")
                valid = signature_valid(header, body, secret)
                status, answer = (200, b"ok") if valid else (401, b"bad signature")
            elif self.path.startswith("/hooks/"):
                # A runbook's HTTP step: answered with what it asked for.
                status, answer = 200, b"done: " + body
            record(log, {
                "kind": "http",
                "path": self.path,
                "content_type": self.headers.get("content-type"),
                "authorization": self.headers.get("authorization"),
                "body": body.decode("utf-8", "replace"),
                "signature_valid": valid,
                "status": status,
            })
            self.send_response(status)
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_):
            pass

    return Handler


class Sink:
    def __init__(self, log):
        self.log = log

    async def handle_DATA(self, server, session, envelope):
        record(self.log, {
            "kind": "smtp",
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
        })
        return "250 Message accepted for delivery"


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--log", required=True)
    parser.add_argument("--secret-file", required=True)
    args = parser.parse_args()
    http = ThreadingHTTPServer(("127.0.0.1", 0), http_handler(args.log, args.secret_file))
    threading.Thread(target=http.serve_forever, daemon=True).start()
    loop = asyncio.get_running_loop()
    # A hostname of its own: otherwise every connection asks the resolver for this
    # machine's name (the zero-egress test would see the lookup).
    smtp = await loop.create_server(
        lambda: SMTP(Sink(args.log), hostname="localhost"), "127.0.0.1", 0
    )
    print(f"smtp={smtp.sockets[0].getsockname()[1]} http={http.server_address[1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
