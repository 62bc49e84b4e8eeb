// Twilio's official Node.js helper library (npm `twilio` 5), unchanged, against `otpd serve`
// (issue 26): create -> wrong check -> right check -> fetch, reading the code from otpd's outbox,
// so two official clients judge the wire, not one. Usage:
//
//     node check.js BASE_URL SERVICE_SID KEY_SID KEY_SECRET OUTBOX_PATH
//
// Exits 0 when every step answered as Twilio Verify would, 1 with the failing step otherwise.
"use strict";

const fs = require("fs");
const assert = require("assert");
const twilio = require("twilio");

const PHONE = "+12025550123";

function lastCode(outbox) {
  const sent = fs
    .readFileSync(outbox, "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
    .filter((m) => m.to === PHONE);
  return sent[sent.length - 1].code;
}

async function main() {
  const [base, serviceSid, keySid, secret, outbox] = process.argv.slice(2, 7);
  // An API key authenticates as SID:secret; the account SID only goes into Twilio's URLs.
  const client = twilio(keySid, secret, { accountSid: "AC" + "0".repeat(32) });
  client.verify.baseUrl = base;
  const service = client.verify.v2.services(serviceSid);

  const created = await service.verifications.create({ to: PHONE, channel: "sms" });
  assert.strictEqual(created.status, "pending");
  assert.match(created.sid, /^VE[0-9a-f]{32}$/);

  const code = lastCode(outbox);
  const wrong = code === "000000" ? "111111" : "000000";
  const miss = await service.verificationChecks.create({ to: PHONE, code: wrong });
  assert.deepStrictEqual([miss.status, miss.valid], ["pending", false]);

  const hit = await service.verificationChecks.create({ verificationSid: created.sid, code });
  assert.deepStrictEqual([hit.status, hit.valid], ["approved", true]);

  try {
    await service.verificationChecks.create({ to: PHONE, code });
    throw new Error("a check after approval must fail with 20404");
  } catch (e) {
    assert.deepStrictEqual([e.status, e.code], [404, 20404], String(e));
  }

  const fetched = await service.verifications(created.sid).fetch();
  assert.strictEqual(fetched.status, "approved");
  assert.strictEqual(fetched.sid, created.sid);

  console.log("twilio-node: create, wrong check, right check, check again (20404), fetch: ok");
}

main().catch((e) => {
  console.error(`twilio-node check failed: ${e.stack || e}`);
  process.exit(1);
});
