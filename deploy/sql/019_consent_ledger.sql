-- 019_consent_ledger: consent as a ledger (Decree 13/2023, Law 91/2025 on
-- personal data: consent per purpose, explicit, reproducible). Every
-- grant and withdrawal is an event kept for good - when it happened, its
-- source (card contract, web form, app, SMS reply, agent call, import,
-- unsubscribe link ...), a reference to its evidence, who recorded it -
-- and customer_consents is only the state they come to: the newest event
-- per customer, channel and purpose wins; one arriving late never
-- overrides a newer one. rekindle.record_consent is the one writer.
CREATE TABLE rekindle.consent_events (
    id           bigserial PRIMARY KEY,
    customer_id  text NOT NULL,
    channel      smallint NOT NULL CHECK (channel BETWEEN 1 AND 5),
    purpose      smallint NOT NULL CHECK (purpose BETWEEN 1 AND 3),
    granted      boolean NOT NULL,
    occurred_at  timestamptz NOT NULL,
    source       text NOT NULL,
    evidence     text,
    -- "token:N", "engagement", "tracker", "migration"
    recorded_by  text NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX consent_events_customer ON rekindle.consent_events
    (customer_id, occurred_at, id);

-- Append-only: no event is changed or taken back. (Erasing a customer,
-- the one exception the law makes, sets rekindle.erasing for its
-- transaction.)
CREATE FUNCTION rekindle.consent_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('rekindle.erasing', true), '') = 'on' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION 'consent events are append-only'
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE
    ON rekindle.consent_events FOR EACH ROW
    EXECUTE FUNCTION rekindle.consent_events_append_only();

-- The states recorded before the ledger are its first events.
INSERT INTO rekindle.consent_events (customer_id, channel, purpose, granted,
    occurred_at, source, recorded_by, recorded_at)
SELECT customer_id, channel, purpose, granted, granted_at, source,
    'migration', recorded_at
FROM rekindle.customer_consents;

-- Records one consent event and the state it comes to. True if it is now
-- the customer's state for that channel and purpose (it is the newest).
-- A withdrawal of marketing consent that takes effect cancels, in the
-- same transaction, every message still queued on that channel (and
-- stops uncertain ones being sent again).
CREATE FUNCTION rekindle.record_consent(p_customer text, p_channel smallint,
    p_purpose smallint, p_granted boolean, p_at timestamptz, p_source text,
    p_evidence text, p_by text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    took boolean;
BEGIN
    INSERT INTO rekindle.consent_events (customer_id, channel, purpose,
        granted, occurred_at, source, evidence, recorded_by)
    VALUES (p_customer, p_channel, p_purpose, p_granted, p_at, p_source,
        p_evidence, p_by);
    INSERT INTO rekindle.customer_consents AS k (customer_id, channel,
        purpose, granted, granted_at, source)
    VALUES (p_customer, p_channel, p_purpose, p_granted, p_at, p_source)
    ON CONFLICT (customer_id, channel, purpose) DO UPDATE SET
        granted = EXCLUDED.granted, granted_at = EXCLUDED.granted_at,
        source = EXCLUDED.source, recorded_at = now()
    WHERE k.granted_at <= EXCLUDED.granted_at;
    took := FOUND;
    IF took AND NOT p_granted AND p_purpose = 1 THEN
        UPDATE rekindle.messages SET
            state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
            resend = false, reason = 'consent withdrawn', updated_at = now()
        WHERE customer_id = p_customer AND channel = p_channel
          AND (state = 'queued' OR (state = 'uncertain' AND resend));
    END IF;
    RETURN took;
END $$;
