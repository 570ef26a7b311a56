-- 006_promotion_keys: promotions are edited through the API, keyed by the
-- caller's promotion_id; rows added before get 'promotion-<id>'.
ALTER TABLE rekindle.promotions ADD COLUMN promotion_id text;
UPDATE rekindle.promotions SET promotion_id = 'promotion-' || id;
ALTER TABLE rekindle.promotions ALTER COLUMN promotion_id SET NOT NULL,
    ADD CONSTRAINT promotions_promotion_id_key UNIQUE (promotion_id),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
