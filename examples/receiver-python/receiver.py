"""A complete edgejobs callback receiver in Python: the standard library's
http.server plus the official Standard Webhooks package
(`pip install standardwebhooks`).

    EDGEJOBS_WEBHOOK_SECRET=whsec_... python receiver.py   # listens on :8000
"""

import json
import os
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

webhook = Webhook(os.environ["EDGEJOBS_WEBHOOK_SECRET"])
handled_events: set[str] = set()  # webhook-id of every event handled (use a database)
latest_version: dict[str, int] = {}  # job id -> newest data.version applied


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0))).decode("utf-8")
        try:
            # Verify the raw body before parsing it.
            event = webhook.verify(body, dict(self.headers.items()))
        except WebhookVerificationError:
            self.send_response(400)
            self.end_headers()
            return
        event_id = self.headers["webhook-id"]
        if event_id not in handled_events:  # a retry of a handled event is acknowledged and skipped
            job = event["data"]
            if latest_version.get(job["id"], 0) < job["version"]:  # events are unordered: keep the newest
                latest_version[job["id"]] = job["version"]
                print(event["type"], job["id"], json.dumps(job.get("result")))
            handled_events.add(event_id)
        self.send_response(204)  # any 2xx within 15 s is a delivery
        self.end_headers()


if __name__ == "__main__":
    HTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Receiver).serve_forever()
