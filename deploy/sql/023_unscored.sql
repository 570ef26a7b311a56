-- Issue 16: unknown is unknown. A churn-risk audience rule excludes
-- customers without a churn risk (reason 'not_scored') unless the
-- campaign includes them explicitly.
ALTER TABLE campaigns
    ADD COLUMN aud_include_unscored boolean NOT NULL DEFAULT false;
