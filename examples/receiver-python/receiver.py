"""A complete edgejobs callback receiver in Python, on the standard library
alone: http.server plus a Standard Webhooks verifier (verify() below, about 20
lines; the official package, `pip install standardwebhooks`, does the same:
`Webhook(secret).verify(body, headers)`).

    EDGEJOBS_WEBHOOK_SECRET=whsec_... PORT=8000 python3 examples/receiver-python/receiver.py
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

TOLERANCE_SECONDS = 5 * 60  # the Standard Webhooks default: older or future timestamps are refused


def verify(secret: str, headers, body: bytes) -> dict:
    """Returns the event if `body` carries a valid signature by `secret` (whsec_...); raises ValueError saying why not."""
    msg_id, timestamp, signatures = (headers.get(name) for name in ("webhook-id", "webhook-timestamp", "webhook-signature"))
    if not (msg_id and timestamp and signatures):
        raise ValueError("missing webhook-id, webhook-timestamp or webhook-signature header")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        raise ValueError(f"timestamp {timestamp!r} is not within {TOLERANCE_SECONDS} s of now")
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    # One "v1,<base64>" per valid secret (two or three after a rotation), space-separated.
    for signature in signatures.split(" "):
        version, _, value = signature.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return json.loads(body)
    raise ValueError("no signature matches the secret")


secret = os.environ.get("EDGEJOBS_WEBHOOK_SECRET", "")
if not secret.startswith("whsec_"):
    sys.exit("EDGEJOBS_WEBHOOK_SECRET must be the tenant's whsec_... secret (POST /v1/keys answers it; npm run dev prints one)")
handled_events: set[str] = set()  # webhook-id of every event handled (use a database)
latest_version: dict[str, int] = {}  # job id -> newest data.version applied


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            event = verify(secret, self.headers, body)  # verify the raw body before parsing it
        except ValueError as error:
            print("refused a callback:", error, file=sys.stderr, flush=True)
            self.send_response(400)
            self.end_headers()
            return
        event_id = self.headers["webhook-id"]
        if event_id not in handled_events:  # a retry of a handled event is acknowledged and skipped
            data = event["data"]
            if event["type"] == "batch.completed":  # a batch completes once: its counts, no version
                print(event["type"], data["id"], json.dumps(data["counts"], separators=(",", ":")), flush=True)
            elif latest_version.get(data["id"], 0) < data["version"]:  # events are unordered: keep the newest
                latest_version[data["id"]] = data["version"]
                print(event["type"], data["id"], json.dumps(data.get("result"), separators=(",", ":")), flush=True)
            handled_events.add(event_id)
        self.send_response(204)  # any 2xx within 15 s is a delivery
        self.end_headers()


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8000"))
    print(f"receiving callbacks on http://localhost:{port}/hooks/jobs", flush=True)
    HTTPServer(("0.0.0.0", port), Receiver).serve_forever()
