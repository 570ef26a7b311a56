-- Issue 16, point 5: churn reasons in Vietnamese beside the English ones,
-- in the same order (strongest first), for agents' tickets and the API.
ALTER TABLE rekindle.customer_profiles ADD COLUMN churn_reasons_vi text[];
