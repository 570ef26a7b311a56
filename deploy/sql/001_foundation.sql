-- 001_foundation: customers, consent, transactions, API tokens, the durable
-- job queue, and the first profile row.
-- Applied by db_migrate() in one transaction under an advisory lock.

CREATE TABLE rekindle.api_tokens (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL,
    role         text NOT NULL CHECK (role IN ('admin', 'service', 'agent')),
    agent_id     text,
    -- SHA-256 of the secret; the secret itself is never stored.
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz
);
CREATE UNIQUE INDEX api_tokens_live_name ON rekindle.api_tokens (name)
    WHERE revoked_at IS NULL;

CREATE TABLE rekindle.customers (
    id              text PRIMARY KEY,
    full_name       text,
    phone_e164      text,
    email           text,
    push_token      text,
    zalo_available  boolean NOT NULL DEFAULT false,
    time_zone       text NOT NULL DEFAULT 'Asia/Ho_Chi_Minh',
    language        text NOT NULL DEFAULT 'vi',
    -- 'api' when upserted; 'transaction' for a stub made by ingest before
    -- the card system sent the customer (no contact data, no consent).
    source          text NOT NULL DEFAULT 'api',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rekindle.customer_consents (
    customer_id  text NOT NULL REFERENCES rekindle.customers (id),
    channel      smallint NOT NULL,
    purpose      smallint NOT NULL,
    granted      boolean NOT NULL,
    granted_at   timestamptz NOT NULL,
    source       text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, channel, purpose)
);

CREATE TABLE rekindle.transactions (
    txn_id         text PRIMARY KEY,
    customer_id    text NOT NULL,
    occurred_at    timestamptz NOT NULL,
    amount_minor   bigint NOT NULL,
    currency       text NOT NULL,
    mcc            smallint,
    merchant_id    text,
    merchant_name  text,
    channel        text,
    ingested_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX transactions_customer_time ON rekindle.transactions
    (customer_id, occurred_at);

-- Durable work. nng only says "look"; a row here is the job. Claimed with
-- FOR UPDATE SKIP LOCKED and a lease; a sweeper re-queues expired leases.
CREATE TABLE rekindle.jobs (
    id                bigserial PRIMARY KEY,
    queue             text NOT NULL,
    state             text NOT NULL DEFAULT 'available'
                      CHECK (state IN ('available', 'running', 'done',
                                       'discarded')),
    payload           bytea NOT NULL,
    attempt           int NOT NULL DEFAULT 0,
    max_attempts      int NOT NULL DEFAULT 20,
    run_at            timestamptz NOT NULL DEFAULT now(),
    lease_expires_at  timestamptz,
    locked_by         text,
    last_error        text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    finished_at       timestamptz
);
CREATE INDEX jobs_available ON rekindle.jobs (queue, run_at, id)
    WHERE state = 'available';
CREATE INDEX jobs_running_lease ON rekindle.jobs (lease_expires_at)
    WHERE state = 'running';
ALTER TABLE rekindle.jobs SET (autovacuum_vacuum_scale_factor = 0.02,
                               autovacuum_analyze_scale_factor = 0.05);

-- The first profile row; the analytics migrations add the rest.
CREATE TABLE rekindle.customer_profiles (
    customer_id        text PRIMARY KEY,
    first_txn_at       timestamptz,
    last_txn_at        timestamptz,
    txn_count          bigint NOT NULL DEFAULT 0,
    total_spend_minor  bigint NOT NULL DEFAULT 0,
    currency           text,
    profiled_at        timestamptz NOT NULL DEFAULT now(),
    job_id             bigint
);

-- Idempotent replies for Create/Upsert calls retried with a request_id.
CREATE TABLE rekindle.idempotency_keys (
    method        text NOT NULL,
    request_id    text NOT NULL,
    request_hash  bytea NOT NULL,
    response      bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (method, request_id)
);
