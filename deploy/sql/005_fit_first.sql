-- 005_fit_first: a full profiling run fits its models on a sample first
-- ('fitting'), then profiles and scores every customer in one pass
-- ('running'); no run-wide churn samples and no rescoring step remain.
-- Runs caught mid-way by the upgrade are failed: start them again.
UPDATE rekindle.profile_runs
   SET state = 'failed', error = 'interrupted by an upgrade; run again',
       finished_at = now(), updated_at = now()
 WHERE state IN ('running', 'finalizing');
ALTER TABLE rekindle.profile_runs DROP CONSTRAINT profile_runs_state_check;
ALTER TABLE rekindle.profile_runs ADD CONSTRAINT profile_runs_state_check
    CHECK (state IN ('fitting', 'running', 'done', 'failed'));
DROP TABLE rekindle.churn_samples;
-- The profile indexes on state, top category and top partner served no
-- query (ListProfiles pages by customer_id with its filters applied on
-- the way; campaign selection scans), and each full run paid for them on
-- every row: without them a re-profiled row is a HOT update in place.
DROP INDEX rekindle.customer_profiles_state;
DROP INDEX rekindle.customer_profiles_top_category;
DROP INDEX rekindle.customer_profiles_top_partner;
