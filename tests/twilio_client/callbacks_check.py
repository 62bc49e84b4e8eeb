"""Twilio's status callbacks and Verify Events, judged by Twilio's official Python helper library
(PyPI `twilio` 9): its `RequestValidator` — the reference implementation of X-Twilio-Signature —
signs the callbacks, and otpd must accept exactly those. Kept apart from check.py (issue 26,
part B). Usage, from the repository root after `cargo build`:

    callbacks_check.py OTPD_BINARY

It starts, on 127.0.0.1, a fake Twilio (answering Create Message with an SM… SID) and a webhook
sink, writes an otpd configuration in a temporary folder (Twilio delivery with
`status_callback_url`, one `[[events.sink]]`), runs `otpd serve` on it, then: a verification
created with the Twilio client is sent with `StatusCallback`; a callback signed by
`RequestValidator` is accepted (200) and makes the delivery status `undelivered`; the same
callback signed with another token, or unsigned, is 403; the sink receives the pending and the
`attempt-dlr.undelivered` events, each with a valid `X-Otpd-Signature`. Exits 0 when all hold.
"""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from twilio.request_validator import RequestValidator
from twilio.rest import Client

PHONE = "+14155552671"
AC = "AC0123456789abcdef0123456789abcdef"
SM = "SM0123456789abcdef0123456789abcdef"
TOKEN = "callbacks-check-token-0000000001"
SINK_SECRET = "callbacks-check-sink-secret-0001"
CALLBACK = "https://otpd.example.test/otpd/v1/twilio/status"


def serve(handler):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class FakeTwilio(BaseHTTPRequestHandler):
    forms = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        FakeTwilio.forms.append(urllib.parse.parse_qs(body))
        answer = json.dumps({"sid": SM, "status": "queued", "to": PHONE}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


class Sink(BaseHTTPRequestHandler):
    events = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        expected = "sha256=" + hmac.new(SINK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, self.headers["X-Otpd-Signature"]), "bad signature"
        Sink.events.extend(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def post(url, form, signature):
    data = urllib.parse.urlencode(form).encode()
    req = urllib.request.Request(url, data=data, method="POST")
    if signature is not None:
        req.add_header("X-Twilio-Signature", signature)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def wait_for(what, condition):
    deadline = time.time() + 20
    while not condition():
        assert time.time() < deadline, f"never: {what}"
        time.sleep(0.05)


def main():
    otpd = os.path.abspath(sys.argv[1])
    twilio, sink = serve(FakeTwilio), serve(Sink)
    tmp = tempfile.mkdtemp()
    for name, text in [("token", TOKEN), ("sink.secret", SINK_SECRET)]:
        path = os.path.join(tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text + "\n")
        os.chmod(path, 0o600)
    with open(os.path.join(tmp, "otpd.toml"), "w", encoding="utf-8") as f:
        f.write(f"""[hashing]
memory_kib = 8
iterations = 1
parallelism = 1

[delivery]
provider = "twilio"

[twilio]
account_sid = "{AC}"
auth_token_file = "token"
from = "+14155550100"
api_base = "http://127.0.0.1:{twilio.server_port}"
status_callback_url = "{CALLBACK}"

[[events.sink]]
url = "http://127.0.0.1:{sink.server_port}/hook"
secret_file = "sink.secret"
""")
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": tmp,
        "OTPD_CONFIG": os.path.join(tmp, "otpd.toml"),
        "OTPD_DB": os.path.join(tmp, "otpd.db"),
        "OTPD_SECRET_FILE": os.path.join(tmp, "secret.key"),
        "OTPD_STATION": "ci",
    }
    key = json.loads(subprocess.run([otpd, "keys", "create", "--station", "ci", "--json"],
                                     env=env, check=True, capture_output=True).stdout)
    server = subprocess.Popen([otpd, "serve", "--listen", "127.0.0.1:0"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        base = server.stdout.readline().split()[-1]
        service_sid = server.stdout.readline().split()[-1]
        client = Client(key["sid"], key["secret"], AC)
        client.verify.base_url = base
        created = client.verify.v2.services(service_sid).verifications.create(to=PHONE,
                                                                              channel="sms")
        assert created.status == "pending", created.status
        assert FakeTwilio.forms[0]["StatusCallback"] == [CALLBACK], FakeTwilio.forms[0]

        # Twilio's own signer, over the public URL Twilio was given.
        form = {"AccountSid": AC, "MessageSid": SM, "MessageStatus": "undelivered",
                "ErrorCode": "30003", "To": PHONE, "ApiVersion": "2010-04-01"}
        good = RequestValidator(TOKEN).compute_signature(CALLBACK, form)
        forged = RequestValidator("another-token").compute_signature(CALLBACK, form)
        url = base + "/otpd/v1/twilio/status"
        assert post(url, form, forged) == 403, "a forged callback must be refused"
        assert post(url, form, None) == 403, "an unsigned callback must be refused"
        assert post(url, form, good) == 200, "Twilio's signature must be accepted"

        req = urllib.request.Request(base + "/otpd/v1/status")
        auth = f"{key['sid']}:{key['secret']}".encode()
        req.add_header("Authorization", "Basic " + base64.b64encode(auth).decode())
        with urllib.request.urlopen(req) as r:
            status = json.loads(r.read())
        assert status["pending"][0]["delivery_status"] == "undelivered", status

        prefix = "com.twilio.accountsecurity.verify."
        wanted = {prefix + "verification.pending", prefix + "attempt-dlr.undelivered"}
        wait_for("the events", lambda: wanted <= {e["type"] for e in Sink.events})
        for e in Sink.events:
            assert e["specversion"] == "1.0" and e["data"]["verification_sid"] == created.sid, e
    finally:
        server.terminate()
        server.wait()
    print("twilio-python: StatusCallback sent, RequestValidator-signed callback accepted and "
          "applied, forged and unsigned ones 403, signed events received: ok")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
