-- Issue 16, point 1: the launch's exclusions by reason (not_scored,
-- no_consent, do_not_call, no_channel, in_running_campaign, cooldown,
-- no_offer), shown as the launch Operation's excluded_<reason> counters.
ALTER TABLE campaign_launches
    ADD COLUMN exclusions jsonb NOT NULL DEFAULT '{}';
