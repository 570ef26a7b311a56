-- When the stored access token expires, as its refresh answered
-- (expires_in): each process renews the pair ahead of it (cred.h), and
-- one that takes a pair from here knows when it must renew. NULL: not
-- known (a pair seeded from the configuration) - renewed when refused.
ALTER TABLE rekindle.provider_tokens ADD COLUMN expires_at timestamptz;
