"""Twilio's official Python helper library (PyPI `twilio` 9), unchanged, against `otpd serve`.

Drives create -> wrong check -> right check -> check again (20404) -> fetch, reading the code
from otpd's outbox; then (issue 26) the Service fetched and renamed, rate limits and buckets
through `services(...).rate_limits`, a create refused over a bucket (60203), the attempts and
their summary. Usage:

    check.py BASE_URL SERVICE_SID KEY_SID KEY_SECRET OUTBOX_PATH \
        ADMIN_SID ADMIN_SECRET AUDITOR_SID AUDITOR_SECRET

Exits 0 when every step answered as Twilio Verify would, 1 with the failing step otherwise.
"""

import json
import sys

from twilio.base.exceptions import TwilioException, TwilioRestException
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

    admin_sid, admin_secret, auditor_sid, auditor_secret = sys.argv[6:10]
    admin = Client(admin_sid, admin_secret, "AC" + "0" * 32)
    admin.verify.base_url = base
    auditor = Client(auditor_sid, auditor_secret, "AC" + "0" * 32)
    auditor.verify.base_url = base
    service_checks(admin, client, service_sid)
    rate_limit_checks(admin, client, service_sid, outbox)
    attempt_checks(auditor, client, service_sid, created.sid)


def refused(call, status, code):
    """`call()` must fail with this HTTP status and Twilio error code. A list's first page
    fails as TwilioException("Unable to fetch page", response), the rest as
    TwilioRestException: both are read."""
    try:
        call()
    except TwilioRestException as e:
        assert (e.status, e.code) == (status, code), (e.status, e.code)
        return
    except TwilioException as e:
        response = e.args[1]
        got = (response.status_code, json.loads(response.text)["code"])
        assert got == (status, code), got
        return
    raise AssertionError(f"expected {status} {code}, got an answer")


def service_checks(admin, station, service_sid):
    """The Service resource: read by any key, renamed by an admin only."""
    fetched = station.verify.v2.services(service_sid).fetch()
    assert fetched.sid == service_sid, fetched.sid
    assert fetched.code_length == 6, fetched.code_length
    listed = [s.sid for s in admin.verify.v2.services.list()]
    assert listed == [service_sid], listed
    try:
        station.verify.v2.services(service_sid).update(friendly_name="Nope")
        raise AssertionError("a station key must not rename the service")
    except TwilioRestException as e:
        assert (e.status, e.code) == (403, 20403), (e.status, e.code)
    renamed = admin.verify.v2.services(service_sid).update(friendly_name="Acme Clinic")
    assert renamed.friendly_name == "Acme Clinic", renamed.friendly_name
    print("twilio-python: service fetch, list, update (admin only): ok")


def rate_limit_checks(admin, station, service_sid, outbox):
    """Rate limits and buckets, and a create refused over its bucket (60203, nothing sent)."""
    limits = admin.verify.v2.services(service_sid).rate_limits
    rl = limits.create(unique_name="end_user_ip_address", description="sign-up form")
    assert rl.sid.startswith("RK") and rl.unique_name == "end_user_ip_address", rl.sid
    assert [r.sid for r in limits.list()] == [rl.sid]
    assert limits(rl.sid).update(description="kiosk").description == "kiosk"
    assert limits(rl.sid).fetch().description == "kiosk"
    buckets = limits(rl.sid).buckets
    b = buckets.create(max=1, interval=60)
    assert (b.max, b.interval, b.rate_limit_sid) == (1, 60, rl.sid), (b.max, b.interval)
    assert buckets(b.sid).update(max=2).max == 2
    assert [x.sid for x in buckets.list()] == [b.sid]
    assert buckets(b.sid).fetch().max == 2
    refused(lambda: station.verify.v2.services(service_sid).rate_limits.list(), 403, 20403)

    service = station.verify.v2.services(service_sid)
    ip = {"end_user_ip_address": "203.0.113.7"}
    sent_before = sum(1 for _ in open(outbox, encoding="utf-8"))
    for to in ("+12025550123", "+447911123456"):
        v = service.verifications.create(to=to, channel="sms", rate_limits=ip)
        assert v.status == "pending", v.status
    try:
        service.verifications.create(to="+14155552671", channel="sms", rate_limits=ip)
        raise AssertionError("a create over the bucket must fail with 60203")
    except TwilioRestException as e:
        assert (e.status, e.code) == (429, 60203), (e.status, e.code)
    sent_after = sum(1 for _ in open(outbox, encoding="utf-8"))
    assert sent_after == sent_before + 2, (sent_before, sent_after)
    other = service.verifications.create(
        to="+14155552671", channel="sms", rate_limits={"end_user_ip_address": "198.51.100.9"}
    )
    assert other.status == "pending", other.status
    try:
        service.verifications.create(to="+14155552671", channel="sms", rate_limits={"nope": "x"})
        raise AssertionError("an unknown rate limit must fail with 60200")
    except TwilioRestException as e:
        assert (e.status, e.code) == (400, 60200), (e.status, e.code)

    assert buckets(b.sid).delete() is True
    assert limits(rl.sid).delete() is True
    assert list(limits.list()) == []
    print("twilio-python: rate limits and buckets, a create refused over its bucket (60203): ok")


def attempt_checks(auditor, station, service_sid, approved_sid):
    """Attempts and their summary, read by an auditor key."""
    attempts = auditor.verify.v2.verification_attempts.list()
    assert len(attempts) >= 4, len(attempts)
    converted = auditor.verify.v2.verification_attempts.list(status="converted")
    assert [a.verification_sid for a in converted] == [approved_sid], converted
    assert converted[0].conversion_status == "converted"
    one = auditor.verify.v2.verification_attempts(converted[0].sid).fetch()
    assert one.sid == converted[0].sid and one.channel == "sms", one.sid
    mine = auditor.verify.v2.verification_attempts.list(verification_sid=approved_sid)
    assert len(mine) == 1, len(mine)
    summary = auditor.verify.v2.verification_attempts_summary().fetch()
    assert summary.total_attempts == len(attempts), summary.total_attempts
    assert summary.total_converted == 1, summary.total_converted
    assert summary.total_unconverted == len(attempts) - 1, summary.total_unconverted
    refused(lambda: station.verify.v2.verification_attempts.list(), 403, 20403)
    print("twilio-python: attempts (filters, fetch) and the summary, auditor only: ok")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"twilio-python check failed: {e}", file=sys.stderr)
        sys.exit(1)
