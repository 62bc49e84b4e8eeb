"""Twilio's official Python helper library (PyPI `twilio` 9), unchanged, against `otpd serve`.

Drives create -> wrong check -> right check -> check again (20404) -> fetch, reading the code
from otpd's outbox. Usage:

    check.py BASE_URL SERVICE_SID KEY_SID KEY_SECRET OUTBOX_PATH

Exits 0 when every step answered as Twilio Verify would, 1 with the failing step otherwise.
"""

import json
import sys

from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

PHONE = "+14155552671"


def last_code(outbox):
    with open(outbox, encoding="utf-8") as f:
        lines = [json.loads(line) for line in f if line.strip()]
    return [m for m in lines if m["to"] == PHONE][-1]["code"]


def main():
    base, service_sid, key_sid, secret, outbox = sys.argv[1:6]
    # An API key authenticates as SID:secret; the account SID only goes into Twilio's URLs.
    client = Client(key_sid, secret, "AC" + "0" * 32)
    client.verify.base_url = base
    service = client.verify.v2.services(service_sid)

    created = service.verifications.create(to=PHONE, channel="sms")
    assert created.status == "pending", created.status
    assert created.sid.startswith("VE") and len(created.sid) == 34, created.sid
    assert created.send_code_attempts, created.send_code_attempts

    code = last_code(outbox)
    wrong = "000000" if code != "000000" else "111111"
    check = service.verification_checks.create(to=PHONE, code=wrong)
    assert (check.status, check.valid) == ("pending", False), (check.status, check.valid)

    check = service.verification_checks.create(verification_sid=created.sid, code=code)
    assert (check.status, check.valid) == ("approved", True), (check.status, check.valid)

    try:
        service.verification_checks.create(to=PHONE, code=code)
        raise AssertionError("a check after approval must fail with 20404")
    except TwilioRestException as e:
        assert (e.status, e.code) == (404, 20404), (e.status, e.code)

    fetched = service.verifications(created.sid).fetch()
    assert fetched.status == "approved", fetched.status
    assert fetched.sid == created.sid

    print("twilio-python: create, wrong check, right check, check again (20404), fetch: ok")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"twilio-python check failed: {e}", file=sys.stderr)
        sys.exit(1)
