#!/usr/bin/env python3
"""A local webhook receiver for `make demo` (and for trying a [[notifiers]]
webhook by hand): prints one line per notification it receives.

    scripts/notify-receiver.py --listen 127.0.0.1:8088 [--secret SECRET]

With --secret it checks the X-Estatewatch-Signature header (HMAC-SHA256 of
the body) and says whether it matches. A body with a `text` or `markdown`
field (a vendor's message) is printed as that text; an estatewatch payload
(alert, handling or escalation) as a one-line summary. Answers 200.
"""
import argparse
import hashlib
import hmac
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


def text_of(body):
    """The human text of a vendor-shaped body, if it has one."""
    if not isinstance(body, dict):
        return None
    image = body.get("image")
    if body.get("msgtype") == "image" and isinstance(image, dict):
        size = len(image.get("base64", "")) * 3 // 4
        return f"(a picture, {size // 1024} KB)"
    for key in ("text", "markdown"):
        v = body.get(key)
        if isinstance(v, str):
            return v
        if isinstance(v, dict):
            for inner in ("content", "text"):
                if isinstance(v.get(inner), str):
                    return v[inner]
    return None


def summary(topic, body):
    if not isinstance(body, dict):
        return repr(body)[:200]
    parts = [topic or "?"]
    for key in ("kind", "state", "severity", "camera", "action", "detected_at", "at"):
        if body.get(key) is not None:
            parts.append(f"{key}={body[key]}")
    if isinstance(body.get("floor"), int):
        parts.append(f"floor={body['floor']}")
    parts.append(f"id={body.get('id', '?')}")
    return " ".join(parts)


class Handler(BaseHTTPRequestHandler):
    secret = None

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        topic = self.headers.get("X-Estatewatch-Topic")
        sig = ""
        # A signed sender (the generic webhook) sends the header; a robot's
        # API (WeCom) has none to check.
        if self.secret and (self.path == "/hook" or "X-Estatewatch-Signature" in self.headers):
            want = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
            got = self.headers.get("X-Estatewatch-Signature", "")
            sig = " [signature ok]" if hmac.compare_digest(want, got) else " [SIGNATURE MISMATCH]"
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        text = text_of(body)
        line = text if text is not None else summary(topic, body)
        print(f"notify {self.path}: {line}{sig}", flush=True)
        # What a WeCom robot answers; a generic webhook's answer is read by
        # its status only.
        reply = b'{"errcode":0,"errmsg":"ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:8088", help="HOST:PORT to listen on")
    p.add_argument("--secret", default=None, help="check signatures with this secret")
    a = p.parse_args()
    host, _, port = a.listen.rpartition(":")
    Handler.secret = a.secret
    server = HTTPServer((host or "127.0.0.1", int(port)), Handler)
    print(f"notify-receiver: listening on http://{host}:{port}/", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
