-- 009_launch: launching a campaign - who is in it (treatment, control,
-- or excluded with a reason), the offer each treatment customer gets, and
-- the outbox of messages the delivery pools send; the Do-Not-Call list.

-- The national Do-Not-Call registry (Decree 91/2020): no advertising SMS
-- or calls to these numbers.
CREATE TABLE rekindle.do_not_call (
    phone_e164  text PRIMARY KEY,
    listed_at   timestamptz NOT NULL DEFAULT now()
);

-- One launch per campaign: the operation LaunchCampaign returns.
CREATE TABLE rekindle.campaign_launches (
    id            bigserial PRIMARY KEY,
    campaign_id   text NOT NULL UNIQUE REFERENCES rekindle.campaigns,
    request_id    text,
    -- the job doing it: its failures are the operation's error
    job_id        bigint,
    state         text NOT NULL DEFAULT 'running'
                  CHECK (state IN ('running', 'done', 'failed')),
    considered    bigint NOT NULL DEFAULT 0,
    treatment     bigint NOT NULL DEFAULT 0,
    control       bigint NOT NULL DEFAULT 0,
    excluded      bigint NOT NULL DEFAULT 0,
    messages      bigint NOT NULL DEFAULT 0,
    error         text,
    started_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);

-- Everyone the audience rule matched, with what became of them. Control
-- customers get nothing and are measured; excluded ones say why.
-- No foreign keys: a launch writes a million rows at once, and a
-- referential check per row would double its time; the launch itself only
-- names the campaign it locked and the offers it locked.
CREATE TABLE rekindle.campaign_members (
    campaign_id   text NOT NULL,
    customer_id   text NOT NULL,
    status        text NOT NULL
                  CHECK (status IN ('treatment', 'control', 'excluded')),
    -- excluded: no_consent, do_not_call, in_running_campaign, cooldown,
    -- no_offer (budget, cap or codes exhausted), no_channel
    reason        text,
    offer_id      text,
    -- why that offer: partner, category or fallback
    offer_basis   text,
    voucher_code  text,
    added_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (campaign_id, customer_id),
    CHECK ((status = 'excluded') = (reason IS NOT NULL)),
    CHECK ((status = 'treatment') = (offer_id IS NOT NULL))
);
CREATE INDEX campaign_members_customer ON rekindle.campaign_members
    (customer_id) WHERE status <> 'excluded';

-- A voucher code goes to one customer once, whatever the campaign.
CREATE UNIQUE INDEX campaign_members_code ON rekindle.campaign_members
    (offer_id, voucher_code) WHERE voucher_code IS NOT NULL;

-- The outbox: one row per customer and step (0: the first message, 1..:
-- reminders), written in the launch's transaction; the delivery pool of
-- its current channel claims it (FOR UPDATE SKIP LOCKED, with a lease),
-- asks the contact governor, sends with the idempotency key
-- campaign:customer:step:channel, and on a permanent failure moves it to
-- the next channel of the plan. Its personal link carries the message id
-- with an HMAC of it (computed when sent, verified when followed), so no
-- token is stored or indexed.
CREATE TABLE rekindle.messages (
    id                 bigserial PRIMARY KEY,
    campaign_id        text NOT NULL,
    customer_id        text NOT NULL,
    step               smallint NOT NULL DEFAULT 0,
    channel_index      smallint NOT NULL DEFAULT 0,
    channel            smallint NOT NULL CHECK (channel BETWEEN 1 AND 4),
    state              text NOT NULL DEFAULT 'queued'
                       CHECK (state IN ('queued', 'sent', 'failed',
                                        'denied', 'cancelled')),
    not_before         timestamptz NOT NULL DEFAULT now(),
    attempts           integer NOT NULL DEFAULT 0,
    lease_expires_at   timestamptz,
    locked_by          text,
    provider_message_id text,
    reason             text,
    last_error         text,
    created_at         timestamptz NOT NULL DEFAULT now(),
    sent_at            timestamptz,
    UNIQUE (campaign_id, customer_id, step)
);
CREATE INDEX messages_ready ON rekindle.messages (channel, not_before)
    WHERE state = 'queued';
-- The cool-down asks when a customer last got a campaign message.
CREATE INDEX messages_customer_sent ON rekindle.messages (customer_id, sent_at)
    WHERE state = 'sent';
