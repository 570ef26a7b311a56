-- 016_journeys: always-on campaigns. Such a campaign keeps its audience
-- rule live: after every profiling run and at least daily an entry run
-- (an "entry" timer, kind 8, fired by the timer pool; the run itself a
-- campaign job) lets in the customers who newly match - once, and again
-- only reentry_days after their last entry, when nothing of that journey
-- is still pending. Each entry is a journey of its own: its number is on
-- the member row, its messages and its timers, and in the message's
-- idempotency key (msgkey.h) from the second on.
ALTER TABLE rekindle.campaigns
    -- as rekindle.v1.CampaignKind: 1 one-shot, 2 always-on
    ADD COLUMN kind smallint NOT NULL DEFAULT 1 CHECK (kind IN (1, 2)),
    -- always-on: days after an entry before the customer may enter
    -- again; 0: never again
    ADD COLUMN reentry_days integer NOT NULL DEFAULT 0
        CHECK (reentry_days BETWEEN 0 AND 3650);

ALTER TABLE rekindle.timers DROP CONSTRAINT timers_kind_check;
ALTER TABLE rekindle.timers ADD CONSTRAINT timers_kind_check
    CHECK (kind BETWEEN 1 AND 8);

-- The member row is the customer's current journey; entry counts them.
ALTER TABLE rekindle.campaign_members
    ADD COLUMN entry smallint NOT NULL DEFAULT 1 CHECK (entry >= 1);

-- Every entry, as it was made: who entered when, treatment or control,
-- with which offer. The report's entries by week read it.
CREATE TABLE rekindle.campaign_entries (
    campaign_id   text NOT NULL,
    customer_id   text NOT NULL,
    entry         smallint NOT NULL,
    status        text NOT NULL CHECK (status IN ('treatment', 'control')),
    offer_id      text,
    entered_at    timestamptz NOT NULL DEFAULT now(),
    -- how the journey ended, copied from the member row when the
    -- customer enters again (the current entry's are on that row)
    journey       text,
    registered_at timestamptz,
    reminders     integer,
    PRIMARY KEY (campaign_id, customer_id, entry)
);
CREATE INDEX campaign_entries_week ON rekindle.campaign_entries
    (campaign_id, entered_at);

-- A journey's messages and timers carry its entry.
ALTER TABLE rekindle.messages
    ADD COLUMN entry smallint NOT NULL DEFAULT 1;
ALTER TABLE rekindle.messages
    DROP CONSTRAINT messages_campaign_id_customer_id_step_key;
ALTER TABLE rekindle.messages ADD CONSTRAINT messages_journey_step
    UNIQUE (campaign_id, customer_id, entry, step);

ALTER TABLE rekindle.timers ADD COLUMN entry smallint NOT NULL DEFAULT 1;
DROP INDEX rekindle.timers_journey;
CREATE UNIQUE INDEX timers_journey ON rekindle.timers (kind, campaign_id,
    customer_id, entry, seq) WHERE ticket_id IS NULL;

-- The launches of one-shot campaigns before this migration were all
-- entries too.
INSERT INTO rekindle.campaign_entries (campaign_id, customer_id, entry,
    status, offer_id, entered_at)
SELECT campaign_id, customer_id, 1, status, offer_id, added_at
FROM rekindle.campaign_members WHERE status <> 'excluded';
