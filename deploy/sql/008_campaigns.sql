-- 008_campaigns: campaign definitions - audience rule, offers by affinity,
-- control group, channel plan, schedule, reminder and escalation policy -
-- and their lifecycle: draft -> scheduled -> running -> paused ->
-- completed | cancelled (states numbered as rekindle.v1.CampaignState).
CREATE TABLE rekindle.campaigns (
    campaign_id             text PRIMARY KEY,
    name                    text NOT NULL,
    state                   smallint NOT NULL DEFAULT 1
                            CHECK (state BETWEEN 1 AND 6),
    state_reason            text,
    -- audience rule (rekindle.v1.AudienceRule)
    aud_states              smallint[] NOT NULL DEFAULT '{}',
    aud_min_dormant_days    integer NOT NULL DEFAULT 0,
    aud_max_dormant_days    integer NOT NULL DEFAULT 0,   -- 0: no upper bound
    aud_min_churn_risk      double precision NOT NULL DEFAULT 0,
    aud_max_churn_risk      double precision NOT NULL DEFAULT 0,  -- 0: 1
    aud_min_past_spend      bigint NOT NULL DEFAULT 0,
    aud_segments            text[] NOT NULL DEFAULT '{}',
    aud_categories          text[] NOT NULL DEFAULT '{}',
    aud_partner_ids         text[] NOT NULL DEFAULT '{}',
    aud_exclude_running     boolean NOT NULL DEFAULT false,
    aud_cooldown_days       integer NOT NULL DEFAULT 0,
    -- offers by affinity, then the fallback
    offer_ids               text[] NOT NULL DEFAULT '{}',
    fallback_offer_id       text REFERENCES rekindle.offers,
    holdout_percent         double precision NOT NULL DEFAULT 0
                            CHECK (holdout_percent BETWEEN 0 AND 50),
    channel_order           smallint[] NOT NULL,
    -- local send window in minutes after midnight; NULL: any time
    window_start_min        smallint,
    window_end_min          smallint,
    provider_rate_per_second integer NOT NULL DEFAULT 0,
    start_at                timestamptz,
    end_at                  timestamptz,
    -- reminder and escalation policy (rekindle.v1.ReminderPolicy)
    rem_delay_hours         integer NOT NULL DEFAULT 0,
    rem_max                 integer NOT NULL DEFAULT 0,
    rem_interval_hours      integer NOT NULL DEFAULT 0,
    rem_channels            smallint[] NOT NULL DEFAULT '{}',
    rem_escalate            boolean NOT NULL DEFAULT false,
    rem_ticket_team_id      text,
    attribution_days        integer NOT NULL DEFAULT 30,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    CHECK ((window_start_min IS NULL) = (window_end_min IS NULL)),
    CHECK (end_at IS NULL OR start_at IS NULL OR end_at > start_at)
);
CREATE INDEX campaigns_state ON rekindle.campaigns (state);
