-- 013_profile_shares_json: the top-3 shares of a profile are written by
-- every profiling run and only ever read whole (never searched inside), so
-- they are kept as json, the text as written, checked for syntax only. As
-- jsonb every COPY of profiles parsed them into sorted keys and numerics:
-- half the cost of staging a profile row.
ALTER TABLE rekindle.customer_profiles
    ALTER COLUMN top_categories TYPE json USING top_categories::json,
    ALTER COLUMN top_partners TYPE json USING top_partners::json;
