-- A provider's OAuth tokens shared by every process of its pool. Zalo's
-- OA refresh token is spent by its use: each refresh answers a new access
-- token and a new refresh token (developers.zalo.me, "Official Account
-- API - access token"). With the tokens in each process's memory, the
-- first process to refresh left every other one with a spent refresh
-- token, refused (-220) until its messages failed. Whoever refreshes
-- writes the pair here, under a compare on the generation; the others
-- take it from here. seed_digest is the SHA-256 of the refresh token the
-- configuration gave: a different one in the configuration (the operator
-- authorised the OA again) replaces the stored pair.
CREATE TABLE rekindle.provider_tokens (
    provider      text PRIMARY KEY,
    access_token  text NOT NULL,
    refresh_token text NOT NULL,
    generation    bigint NOT NULL DEFAULT 0,
    seed_digest   text NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
