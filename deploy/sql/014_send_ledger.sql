-- 014_send_ledger: a per-message send ledger. A message moves
--   queued -> sending -> sent | failed | denied | cancelled | uncertain
-- and every move is committed. A delivery process marks a message
-- 'sending' (attempt number, lease, its contact-cap slot) in one commit
-- before it calls the provider, and records the outcome in another; no
-- transaction or lock is held while the provider is called. The delivery
-- pools claim due messages straight from here (FOR UPDATE SKIP LOCKED);
-- there are no delivery jobs any more.
--
-- uncertain: an attempt whose request was written but got no reply (a
-- timeout, a dropped connection) or whose process died while it was
-- 'sending'. It counts against the caps like a sent message. Where the
-- provider de-duplicates on our key (the SMS gateway's RequestId) it is
-- sent again with the same key (resend = true); elsewhere it is held
-- until evidence settles it (a delivery receipt -> sent).
ALTER TABLE rekindle.messages DROP CONSTRAINT messages_state_check;
ALTER TABLE rekindle.messages ADD CONSTRAINT messages_state_check
    CHECK (state IN ('queued', 'sending', 'sent', 'failed', 'denied',
                     'cancelled', 'uncertain'));
ALTER TABLE rekindle.messages
    -- the key sent to the provider for the current channel (msgkey.h)
    ADD COLUMN idempotency_key text,
    -- when the contact-cap slot was taken (the 'sending' commit)
    ADD COLUMN slot_at timestamptz,
    -- whom the slot was taken for, on a channel with a cap: a digest of
    -- the channel's address (the caps are per phone number or e-mail
    -- address, Decree 91)
    ADD COLUMN recipient text,
    -- an earlier attempt may have reached the provider
    ADD COLUMN ambiguous boolean NOT NULL DEFAULT false,
    -- uncertain, and to be sent again with the same key
    ADD COLUMN resend boolean NOT NULL DEFAULT false,
    -- the contact governor's last decision ("send", "outside_window", ...)
    ADD COLUMN decision text,
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Due work of a channel's pool: the claim query repeats this predicate.
DROP INDEX rekindle.messages_ready;
CREATE INDEX messages_due ON rekindle.messages (channel, not_before)
    WHERE state = 'queued' OR (state = 'uncertain' AND resend);
-- Attempts in flight, by lease: the sweeper finds a dead process's.
CREATE INDEX messages_sending ON rekindle.messages (channel, lease_expires_at)
    WHERE state = 'sending';
-- Contact-cap slots held per recipient and channel (recipient is kept
-- only on a channel with a cap).
CREATE INDEX messages_slots ON rekindle.messages (channel, recipient, slot_at)
    WHERE state IN ('sending', 'sent', 'uncertain') AND recipient IS NOT NULL;
-- ListMessages by customer.
CREATE INDEX messages_customer ON rekindle.messages (customer_id, id);

-- The delivery jobs are gone: their messages are claimed directly.
DELETE FROM rekindle.jobs WHERE queue LIKE 'deliver-%';
