-- 003_profiles: the full customer profile, promotions, model fits and
-- full profiling runs.

ALTER TABLE rekindle.customer_profiles
    ADD COLUMN as_of               timestamptz,
    -- Newest ingested_at among the transactions the profile was computed
    -- from: a profile computed from older data never overwrites a newer.
    ADD COLUMN data_watermark      timestamptz,
    ADD COLUMN purchase_days       bigint,
    ADD COLUMN count_30d           bigint,
    ADD COLUMN spend_30d           bigint,
    ADD COLUMN count_90d           bigint,
    ADD COLUMN spend_90d           bigint,
    ADD COLUMN count_180d          bigint,
    ADD COLUMN spend_180d          bigint,
    ADD COLUMN count_365d          bigint,
    ADD COLUMN spend_365d          bigint,
    ADD COLUMN avg_ticket_minor    double precision,
    ADD COLUMN median_gap_days     double precision,
    ADD COLUMN p90_gap_days        double precision,
    ADD COLUMN overdue_ratio       double precision,
    ADD COLUMN days_since_last     integer,
    -- [{"key": "dining", "spend_share": 0.4, "count_share": 0.5}, ...]
    ADD COLUMN top_categories      jsonb,
    ADD COLUMN top_partners        jsonb,
    ADD COLUMN top_category        text,
    ADD COLUMN top_partner         text,
    ADD COLUMN weekend_spend_share double precision,
    ADD COLUMN peak_hour           smallint,
    ADD COLUMN promo_spend_share   double precision,
    ADD COLUMN spend_trend         double precision,
    ADD COLUMN state               text CHECK (state IN ('new', 'active',
                                   'at_risk', 'dormant', 'lost')),
    ADD COLUMN state_since         timestamptz,
    -- BG/NBD summary in days: repeat purchase days, last repeat, age.
    ADD COLUMN btyd_x              double precision,
    ADD COLUMN btyd_t_x            double precision,
    ADD COLUMN btyd_T              double precision,
    ADD COLUMN recency_score       smallint,
    ADD COLUMN frequency_score     smallint,
    ADD COLUMN monetary_score      smallint,
    ADD COLUMN segment             text,
    ADD COLUMN btyd_model          text,
    ADD COLUMN p_alive             double precision,
    ADD COLUMN expected_30d        double precision,
    ADD COLUMN expected_90d        double precision,
    ADD COLUMN churn_risk          double precision,
    ADD COLUMN churn_reasons       text[];

CREATE INDEX customer_profiles_state ON rekindle.customer_profiles (state, days_since_last);
-- Rescoring rewrites every row's scores: leave room in each page so those
-- updates stay on the page (HOT) and touch no index; segment is therefore
-- not indexed (ListProfiles filters it after the state index).
ALTER TABLE rekindle.customer_profiles SET (fillfactor = 70);
CREATE INDEX customer_profiles_top_category ON rekindle.customer_profiles (top_category);
CREATE INDEX customer_profiles_top_partner ON rekindle.customer_profiles (top_partner);

-- Promotion periods; a transaction is "at a promotion" when it falls in
-- [starts_at, ends_at) and matches every non-NULL of merchant, partner,
-- category (all NULL: a bank-wide promotion).
CREATE TABLE rekindle.promotions (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL,
    starts_at    timestamptz NOT NULL,
    ends_at      timestamptz NOT NULL CHECK (ends_at > starts_at),
    merchant_id  text,
    partner_id   text REFERENCES rekindle.partners ON DELETE CASCADE,
    category     text REFERENCES rekindle.categories
);

-- Base-wide fits: BG/NBD, MBG/NBD, RFM cut-offs, churn models. The newest
-- row per model is the one in use.
CREATE TABLE rekindle.model_fits (
    id              bigserial PRIMARY KEY,
    model           text NOT NULL,
    params          jsonb NOT NULL,
    log_likelihood  double precision,
    customers       bigint,
    as_of           timestamptz NOT NULL,
    run_id          bigint,
    fitted_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX model_fits_latest ON rekindle.model_fits (model, fitted_at DESC);

-- Full profiling runs (ProfileService.RunProfiling operations).
CREATE TABLE rekindle.profile_runs (
    id              bigserial PRIMARY KEY,
    request_id      text UNIQUE,
    as_of           timestamptz NOT NULL,
    state           text NOT NULL DEFAULT 'running'
                    CHECK (state IN ('running', 'finalizing', 'done', 'failed')),
    chunks_total    integer NOT NULL,
    chunks_done     integer NOT NULL DEFAULT 0,
    customers_total bigint NOT NULL,
    customers_done  bigint NOT NULL DEFAULT 0,
    error           text,
    started_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
