-- Issue 16, point 1: an audience rule on P(alive), with the unscored
-- treated as on churn risk (excluded as 'not_scored' unless the campaign
-- includes them). 0 is no bound, as for the churn-risk range.
ALTER TABLE campaigns
    ADD COLUMN aud_min_p_alive double precision NOT NULL DEFAULT 0,
    ADD COLUMN aud_max_p_alive double precision NOT NULL DEFAULT 0;
