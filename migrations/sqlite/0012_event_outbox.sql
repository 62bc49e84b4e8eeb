-- otpd schema v12: Verify Events' durable outbox. Each row is one event for one webhook sink
-- ([[events.sink]], named by its URL), written in the transaction of the fact it reports (so
-- it commits, or rolls back, with it) and delivered at least once by `otpd serve`. A row is
-- deleted once its sink accepted it; `failed` rows are parked after `[events] max_attempts`.
-- `data` is the event's JSON without the SIDs (the server adds them when it sends it).
CREATE TABLE event_outbox (
    id           INTEGER PRIMARY KEY,
    sink         TEXT    NOT NULL,
    event_type   TEXT    NOT NULL,            -- Twilio's type string
    audit_id     INTEGER NOT NULL,            -- the audit row reported: the CloudEvent's id
    challenge_id INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    data         TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_at      INTEGER NOT NULL,            -- not sent before (back-off)
    lease_until  INTEGER,                     -- a server is sending it until then
    state        TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed')),
    last_error   TEXT
);
CREATE INDEX event_outbox_due ON event_outbox (state, next_at);
CREATE INDEX event_outbox_sink ON event_outbox (sink, state);
-- Twilio's status callbacks name the message or call by its SID; the expiry sweep looks for
-- pending verifications by expiry.
CREATE INDEX challenges_provider_ref ON challenges (provider_ref);
CREATE INDEX challenges_pending_expiry ON challenges (state, expires_at);
