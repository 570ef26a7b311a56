-- 010_engagement: what customers did with the messages (events, ranked
-- by evidence), the journey each treatment customer is on, and durable
-- timers (reminders, escalation) fired by the rekindle-timer pool.

-- Events, idempotent by event_id. type as rekindle.v1.EventType, evidence
-- as rekindle.v1.Evidence (1 weak, 2 strong, 3 machine).
CREATE TABLE rekindle.events (
    event_id     text PRIMARY KEY,
    message_id   bigint NOT NULL,
    campaign_id  text NOT NULL,
    customer_id  text NOT NULL,
    channel      smallint NOT NULL,
    type         smallint NOT NULL CHECK (type BETWEEN 1 AND 9),
    evidence     smallint NOT NULL CHECK (evidence BETWEEN 1 AND 3),
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    -- why the evidence is what it is ("image proxy", "2 s after sending")
    evidence_why text,
    user_agent   text,
    source_ip    text
);
CREATE INDEX events_journey ON rekindle.events (campaign_id, customer_id,
    occurred_at);
CREATE INDEX events_customer ON rekindle.events (customer_id, occurred_at);

-- Provider delivery receipts mark the message.
ALTER TABLE rekindle.messages
    ADD COLUMN delivered_at timestamptz;

-- The journey of a treatment customer through the campaign.
ALTER TABLE rekindle.campaign_members
    ADD COLUMN journey text NOT NULL DEFAULT 'open'
        CHECK (journey IN ('open', 'registered', 'unsubscribed',
                           'escalated', 'finished')),
    ADD COLUMN interest_at    timestamptz,  -- first strong evidence
    ADD COLUMN registered_at  timestamptz,
    ADD COLUMN reminders      integer NOT NULL DEFAULT 0,
    ADD COLUMN journey_at     timestamptz;  -- when journey last changed

-- Durable timers: kind 1 reminder (seq = the reminder's number), 2
-- escalation to a ticket, 3 an agent's call-back, 4 a ticket's SLA. A
-- timer fires once: the pool claims the near future with a lease, and
-- firing moves it from 'pending' to 'fired' in the transaction that does
-- its work.
CREATE TABLE rekindle.timers (
    id           bigserial PRIMARY KEY,
    kind         smallint NOT NULL CHECK (kind BETWEEN 1 AND 4),
    due_at       timestamptz NOT NULL,
    campaign_id  text,
    customer_id  text,
    ticket_id    bigint,
    seq          integer NOT NULL DEFAULT 0,
    state        text NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'fired', 'cancelled')),
    claimed_by   text,
    claimed_until timestamptz,
    fired_at     timestamptz,
    outcome      text,
    created_at   timestamptz NOT NULL DEFAULT now()
);
-- One reminder n and one escalation per journey; one of each per ticket.
CREATE UNIQUE INDEX timers_journey ON rekindle.timers (kind, campaign_id,
    customer_id, seq) WHERE ticket_id IS NULL;
CREATE UNIQUE INDEX timers_ticket ON rekindle.timers (kind, ticket_id, seq)
    WHERE ticket_id IS NOT NULL;
CREATE INDEX timers_due ON rekindle.timers (due_at) WHERE state = 'pending';
CREATE INDEX timers_customer ON rekindle.timers (customer_id)
    WHERE state = 'pending';
