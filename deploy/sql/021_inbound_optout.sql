-- 021_inbound_optout: opting out by replying (Decree 91/2020 art. 11-12:
-- a recipient may refuse advertising by SMS; the advertiser stops that
-- kind of advertising and sends one confirmation, with no advertising in
-- it, saying when the refusal was received and when advertising stops).
--
-- The tracker receives the SMS gateway's inbound (MO) webhook and Zalo's
-- OA events; rekindle.inbound_optout records each once (by the provider's
-- message id), withdraws marketing consent on the channel for every
-- customer with that number (rekindle.record_consent: queued messages on
-- it are cancelled in the same transaction), and queues the confirmation.

-- Customer-care messages: not advertising (no [QC], no consent or
-- contact-cap check, SMS type 2), sent by the SMS delivery pool with the
-- idempotency key "care:ID" (the gateway drops a repeated RequestId, so a
-- send retried after a crash is not sent twice). body holds no personal
-- data; the number is read from the customer when sent.
CREATE TABLE rekindle.care_messages (
    id                   bigserial PRIMARY KEY,
    customer_id          text NOT NULL,
    channel              smallint NOT NULL DEFAULT 2 CHECK (channel = 2),
    kind                 text NOT NULL,  -- 'optout_confirmation'
    inbound_id           bigint UNIQUE REFERENCES rekindle.inbound_messages,
    body                 text NOT NULL,
    state                text NOT NULL DEFAULT 'queued'
                         CHECK (state IN ('queued', 'sending', 'sent',
                                          'failed')),
    attempts             integer NOT NULL DEFAULT 0,
    not_before           timestamptz NOT NULL DEFAULT now(),
    lease_expires_at     timestamptz,
    provider_message_id  text,
    reason               text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    sent_at              timestamptz
);
CREATE INDEX care_messages_due ON rekindle.care_messages (not_before)
    WHERE state IN ('queued', 'sending');
CREATE INDEX care_messages_customer ON rekindle.care_messages (customer_id);

-- Records inbound reply p_msgid of provider p_provider ('sms', 'zalo')
-- from number p_phone (E.164; kept only as its SHA-256) and, when
-- p_keyword is set, withdraws marketing consent on p_channel for every
-- customer with that number and (p_confirm not NULL) queues the
-- confirmation p_confirm for the first of them ({received}: p_at, and
-- {stopped}: now, written in that customer's time zone). A repeat of the same
-- message changes nothing. Returns the inbound id, what was done
-- ('opt_out', 'ignored', 'unknown_sender'), how many customers withdrew,
-- and whether it was a repeat.
CREATE FUNCTION rekindle.inbound_optout(p_provider text, p_msgid text,
    p_phone text, p_text text, p_keyword text, p_channel smallint,
    p_at timestamptz, p_confirm text, OUT inbound_id bigint,
    OUT action text, OUT customers integer, OUT repeated boolean)
LANGUAGE plpgsql AS $$
DECLARE
    c      record;
    first  text;
    source text := CASE WHEN p_provider = 'sms' THEN 'sms_reply'
                        ELSE 'zalo_event' END;
BEGIN
    customers := 0;
    INSERT INTO rekindle.inbound_messages (provider, provider_message_id,
        received_at, sender_digest, text, keyword, action)
    VALUES (p_provider, p_msgid, p_at,
        CASE WHEN p_phone IS NOT NULL THEN
            sha256(convert_to(p_phone, 'UTF8')) END,
        p_text, p_keyword, 'pending')
    ON CONFLICT (provider, provider_message_id) DO NOTHING
    RETURNING id INTO inbound_id;
    IF inbound_id IS NULL THEN
        SELECT i.id, i.action INTO inbound_id, action
        FROM rekindle.inbound_messages i
        WHERE i.provider = p_provider AND i.provider_message_id = p_msgid;
        repeated := true;
        RETURN;
    END IF;
    repeated := false;
    IF p_keyword IS NULL THEN
        action := 'ignored';
    ELSE
        FOR c IN SELECT id FROM rekindle.customers
                 WHERE phone_e164 = p_phone AND erased_at IS NULL
                 ORDER BY id
        LOOP
            PERFORM rekindle.record_consent(c.id, p_channel, 1::smallint,
                false, p_at, source, 'inbound:' || inbound_id, 'tracker');
            first := coalesce(first, c.id);
            customers := customers + 1;
        END LOOP;
        action := CASE WHEN customers > 0 THEN 'opt_out'
                       ELSE 'unknown_sender' END;
        -- {received} and {stopped} in the customer's time zone
        IF first IS NOT NULL AND p_confirm IS NOT NULL THEN
            INSERT INTO rekindle.care_messages (customer_id, kind, inbound_id,
                body)
            SELECT first, 'optout_confirmation', inbound_id,
                replace(replace(p_confirm,
                    '{received}', to_char(p_at AT TIME ZONE cu.time_zone,
                        'HH24:MI DD/MM/YYYY')),
                    '{stopped}', to_char(now() AT TIME ZONE cu.time_zone,
                        'HH24:MI DD/MM/YYYY'))
            FROM rekindle.customers cu WHERE cu.id = first;
        END IF;
    END IF;
    UPDATE rekindle.inbound_messages SET action = inbound_optout.action,
        customer_id = first
    WHERE id = inbound_id;
END $$;
