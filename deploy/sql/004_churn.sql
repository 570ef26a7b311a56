-- 004_churn: training and validation samples for the churn models, taken
-- by every chunk of a full profiling run at two past cut-offs.
CREATE TABLE rekindle.churn_samples (
    run_id       bigint NOT NULL,
    customer_id  text NOT NULL,
    -- 1: as-of - 180 days (training), 2: as-of - 90 days (validation)
    cutoff       smallint NOT NULL CHECK (cutoff IN (1, 2)),
    churned      boolean NOT NULL,
    x            real[] NOT NULL,
    days_since   integer NOT NULL,
    median_gap   double precision NOT NULL,
    overdue      double precision NOT NULL,
    trend        double precision NOT NULL,
    count90      bigint NOT NULL,
    count365     bigint NOT NULL,
    PRIMARY KEY (run_id, cutoff, customer_id)
);
