-- 017_variants: experiments. A campaign may carry 2..5 variants - an
-- offer of its own, message templates of its own, or both - between which
-- its treatment customers are split by a hash of campaign, customer and
-- variant, in proportion to the weights; or, for an always-on campaign
-- with adaptive_split, to the shares Thompson sampling gives on each
-- variant's reactivation so far (written at each launch or entry run).
ALTER TABLE rekindle.campaigns
    ADD COLUMN adaptive_split boolean NOT NULL DEFAULT false;

CREATE TABLE rekindle.campaign_variants (
    campaign_id  text NOT NULL REFERENCES rekindle.campaigns
                 ON DELETE CASCADE,
    variant_id   text NOT NULL,
    ord          smallint NOT NULL,
    offer_id     text REFERENCES rekindle.offers,
    weight       integer NOT NULL DEFAULT 1 CHECK (weight BETWEEN 1 AND 100),
    -- the share of new entries it got at the last launch or entry run
    share        double precision,
    PRIMARY KEY (campaign_id, variant_id),
    UNIQUE (campaign_id, ord)
);

-- A variant's own message per channel, instead of its offer's.
CREATE TABLE rekindle.variant_templates (
    campaign_id           text NOT NULL,
    variant_id            text NOT NULL,
    channel               smallint NOT NULL CHECK (channel BETWEEN 1 AND 4),
    subject               text NOT NULL DEFAULT '',
    body                  text NOT NULL DEFAULT '',
    html_body             text NOT NULL DEFAULT '',
    provider_template_id  text NOT NULL DEFAULT '',
    PRIMARY KEY (campaign_id, variant_id, channel),
    FOREIGN KEY (campaign_id, variant_id)
        REFERENCES rekindle.campaign_variants ON DELETE CASCADE
);

ALTER TABLE rekindle.campaign_members ADD COLUMN variant_id text;
ALTER TABLE rekindle.campaign_entries ADD COLUMN variant_id text;
