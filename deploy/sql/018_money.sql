-- 018_money: what a campaign costs and earns. Exchange rates into VND
-- per currency and day (CustomerService.UpsertFxRates), so spend in
-- another currency is converted, not dropped, in the profiles and the
-- reports; the voucher code a card transaction carried, so its use
-- redeems the offer the code belongs to.
CREATE TABLE rekindle.fx_rates (
    currency      text NOT NULL CHECK (currency ~ '^[A-Z]{3}$' AND
                                       currency <> 'VND'),
    day           date NOT NULL,
    vnd_per_unit  double precision NOT NULL CHECK (vnd_per_unit > 0),
    minor_units   smallint NOT NULL DEFAULT 2 CHECK (minor_units BETWEEN 0 AND 4),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (currency, day)
);

-- amount (minor units of currency) in VND at the rate of the day of at
-- (the bank's day, Vietnam time), or the latest rate before it; NULL if
-- there is none. Callers keep VND out of it: CASE WHEN currency = 'VND'
-- THEN amount ELSE rekindle.vnd(...) END (rekindle/common: VND_SQL).
CREATE FUNCTION rekindle.vnd(amount bigint, cur text, at timestamptz)
RETURNS bigint LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT round(amount * r.vnd_per_unit / 10 ^ r.minor_units)::bigint
    FROM rekindle.fx_rates r
    WHERE r.currency = cur
      AND r.day <= (at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
    ORDER BY r.day DESC LIMIT 1
$$;

ALTER TABLE rekindle.transactions ADD COLUMN voucher_code text;
