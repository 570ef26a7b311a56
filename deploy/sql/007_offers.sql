-- 007_offers: the offer catalogue, per-channel message templates and
-- voucher code pools. Budget and quantity are reserved by conditional
-- UPDATEs and guarded by CHECKs, so no number of workers can overspend.
CREATE TABLE rekindle.offers (
    offer_id           text PRIMARY KEY,
    title              text NOT NULL,
    -- 1 voucher (a code from the pool), 2 cashback %, 3 fixed amount
    kind               smallint NOT NULL CHECK (kind IN (1, 2, 3)),
    partner_id         text REFERENCES rekindle.partners,
    category           text REFERENCES rekindle.categories,
    cashback_percent   double precision
                       CHECK (cashback_percent > 0 AND cashback_percent <= 100),
    -- Face value; for cashback, the most one customer can get back.
    -- Each customer given the offer reserves it from the budget.
    amount_minor       bigint NOT NULL CHECK (amount_minor > 0),
    currency           text NOT NULL,
    valid_from         timestamptz NOT NULL,
    valid_until        timestamptz NOT NULL,
    budget_minor       bigint CHECK (budget_minor > 0),    -- NULL: uncapped
    budget_used_minor  bigint NOT NULL DEFAULT 0,
    quantity_cap       bigint CHECK (quantity_cap > 0),    -- NULL: uncapped
    quantity_used      bigint NOT NULL DEFAULT 0,
    landing_url        text NOT NULL,
    fallback           boolean NOT NULL DEFAULT false,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_until > valid_from),
    CHECK ((kind = 2) = (cashback_percent IS NOT NULL)),
    CHECK (budget_minor IS NULL OR budget_used_minor <= budget_minor),
    CHECK (quantity_cap IS NULL OR quantity_used <= quantity_cap),
    CHECK (fallback OR (partner_id IS NULL) <> (category IS NULL))
);
CREATE INDEX offers_partner ON rekindle.offers (partner_id);
CREATE INDEX offers_category ON rekindle.offers (category);

-- One template per offer and channel (1 email, 2 SMS, 3 ZNS, 4 push),
-- checked when saved (common/template.c).
CREATE TABLE rekindle.offer_templates (
    offer_id              text NOT NULL REFERENCES rekindle.offers
                          ON DELETE CASCADE,
    channel               smallint NOT NULL CHECK (channel BETWEEN 1 AND 4),
    subject               text NOT NULL DEFAULT '',
    body                  text NOT NULL DEFAULT '',
    html_body             text NOT NULL DEFAULT '',
    provider_template_id  text NOT NULL DEFAULT '',
    PRIMARY KEY (offer_id, channel)
);

-- Unique codes of a voucher offer; a code is given to one customer once.
CREATE TABLE rekindle.voucher_codes (
    offer_id     text NOT NULL REFERENCES rekindle.offers,
    code         text NOT NULL,
    customer_id  text,
    campaign_id  text,
    assigned_at  timestamptz,
    PRIMARY KEY (offer_id, code),
    CHECK ((customer_id IS NULL) = (assigned_at IS NULL))
);
CREATE INDEX voucher_codes_free ON rekindle.voucher_codes (offer_id, code)
    WHERE customer_id IS NULL;
