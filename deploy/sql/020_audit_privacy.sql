-- 020_audit_erasure: the audit trail of every change made through the API,
-- and erasure of a customer on request (Law 91/2025/QH15 on personal data
-- protection, art. 14 on the right to erasure; Decree 356/2025).
--
-- The audit trail is written by the database, in the transaction of the
-- change: the API opens each transaction with rekindle.actor set
-- ("token_id|role|method|request_id", SET LOCAL), and triggers on the
-- tables a caller can change turn each statement's changed rows into
-- events - before and after of the fields that changed, personal data
-- masked. Workers never set rekindle.actor, so their changes are not
-- audited here (they are their own state: jobs, outcomes, timers).
CREATE TABLE rekindle.audit_events (
    id             bigserial PRIMARY KEY,
    at             timestamptz NOT NULL DEFAULT clock_timestamp(),
    token_id       bigint,
    role           text NOT NULL,
    method         text NOT NULL,
    request_id     text,
    resource_type  text NOT NULL,
    -- the row's key (parts joined by ':'); NULL for a bulk summary
    resource_id    text,
    -- insert, update, delete; bulk_insert, bulk_update, bulk_delete for
    -- tables summarised per statement; erase
    action         text NOT NULL,
    before         jsonb,
    after          jsonb
);
CREATE INDEX audit_events_resource ON rekindle.audit_events
    (resource_type, resource_id, id);
CREATE INDEX audit_events_token ON rekindle.audit_events (token_id, id);
CREATE INDEX audit_events_at ON rekindle.audit_events (at);
-- the events about one customer's rows (export, erasure)
CREATE INDEX audit_events_customer ON rekindle.audit_events
    ((coalesce(after ->> 'customer_id', before ->> 'customer_id')))
    WHERE coalesce(after ->> 'customer_id', before ->> 'customer_id')
        IS NOT NULL;

-- Append-only, as the consent ledger is: one trigger function for both
-- (erasure, the one exception, sets rekindle.erasing for its transaction;
-- here it renames the customer).
CREATE FUNCTION rekindle.append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('rekindle.erasing', true), '') = 'on' THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE
    ON rekindle.audit_events FOR EACH ROW
    EXECUTE FUNCTION rekindle.append_only();
DROP TRIGGER consent_events_append_only ON rekindle.consent_events;
DROP FUNCTION rekindle.consent_events_append_only();
CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE
    ON rekindle.consent_events FOR EACH ROW
    EXECUTE FUNCTION rekindle.append_only();

-- Personal data never enters the trail: these fields show only that they
-- were set ("[masked]") or empty (null).
CREATE FUNCTION rekindle.audit_mask(j jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_object_agg(k, CASE
        WHEN v = 'null'::jsonb THEN v
        WHEN k IN ('full_name', 'phone_e164', 'email', 'push_token', 'text',
                   'note', 'evidence', 'user_agent', 'source_ip',
                   'recipient', 'context_summary', 'talking_points',
                   'token_hash', 'sender_digest', 'keyword')
            THEN '"[masked]"'::jsonb
        ELSE v END), '{}'::jsonb)
    FROM jsonb_each(j) AS e(k, v)
$$;

-- A row's key: the values of its key columns joined by ':'.
CREATE FUNCTION rekindle.audit_key(j jsonb, keys text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT string_agg(j ->> k, ':' ORDER BY o)
    FROM unnest(keys) WITH ORDINALITY AS u(k, o)
$$;

-- Statement triggers with transition tables (old_rows, new_rows); the
-- arguments are the key columns, or 'bulk' first for a table summarised
-- as one event per statement (its row count and, where all rows share
-- one, the customer or campaign).
CREATE FUNCTION rekindle.audit_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    who   text := current_setting('rekindle.actor', true);
    p     text[];
    keys  text[] := ARRAY(SELECT unnest(TG_ARGV));  -- from 1
    n     bigint;
    nk    bigint;
    one   text;
BEGIN
    IF who IS NULL OR who = '' THEN
        RETURN NULL;
    END IF;
    p := string_to_array(who, '|');
    IF keys[1] = 'bulk' THEN
        IF TG_OP = 'DELETE' THEN
            SELECT count(*), count(DISTINCT k), min(k) INTO n, nk, one
            FROM (SELECT to_jsonb(o) ->> keys[2] AS k FROM old_rows o) x;
        ELSE
            SELECT count(*), count(DISTINCT k), min(k) INTO n, nk, one
            FROM (SELECT to_jsonb(r) ->> keys[2] AS k FROM new_rows r) x;
        END IF;
        IF n > 0 THEN
            INSERT INTO rekindle.audit_events (token_id, role, method,
                request_id, resource_type, resource_id, action, after)
            VALUES (nullif(p[1], '')::bigint, p[2], p[3],
                array_to_string(p[4:], '|'), TG_TABLE_NAME,
                CASE WHEN nk = 1 THEN one END, 'bulk_' || lower(TG_OP),
                jsonb_build_object('rows', n) || CASE WHEN nk = 1 THEN
                    jsonb_build_object(keys[2], one) ELSE '{}' END);
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        INSERT INTO rekindle.audit_events (token_id, role, method, request_id,
            resource_type, resource_id, action, after)
        SELECT nullif(p[1], '')::bigint, p[2], p[3],
            array_to_string(p[4:], '|'), TG_TABLE_NAME,
            rekindle.audit_key(j, keys), 'insert', rekindle.audit_mask(j)
        FROM (SELECT to_jsonb(r) AS j FROM new_rows r) x;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO rekindle.audit_events (token_id, role, method, request_id,
            resource_type, resource_id, action, before)
        SELECT nullif(p[1], '')::bigint, p[2], p[3],
            array_to_string(p[4:], '|'), TG_TABLE_NAME,
            rekindle.audit_key(j, keys), 'delete', rekindle.audit_mask(j)
        FROM (SELECT to_jsonb(o) AS j FROM old_rows o) x;
    ELSE
        -- only the fields that changed, and no event for a row that did
        -- not change at all
        INSERT INTO rekindle.audit_events (token_id, role, method, request_id,
            resource_type, resource_id, action, before, after)
        SELECT nullif(p[1], '')::bigint, p[2], p[3],
            array_to_string(p[4:], '|'), TG_TABLE_NAME, d.k, 'update',
            rekindle.audit_mask(d.b), rekindle.audit_mask(d.a)
        FROM (
            SELECT ob.k,
                (SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(ob.j) e
                 WHERE e.value IS DISTINCT FROM nb.j -> e.key) AS b,
                (SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(nb.j) e
                 WHERE e.value IS DISTINCT FROM ob.j -> e.key) AS a
            FROM (SELECT to_jsonb(o) AS j, rekindle.audit_key(to_jsonb(o), keys)
                  AS k FROM old_rows o) ob
            JOIN (SELECT to_jsonb(r) AS j, rekindle.audit_key(to_jsonb(r), keys)
                  AS k FROM new_rows r) nb ON nb.k = ob.k
        ) d
        WHERE d.a IS NOT NULL
          AND d.a - 'updated_at' - 'recorded_at' <> '{}'::jsonb;
    END IF;
    RETURN NULL;
END $$;

-- Audits table t (keys: its key columns, or 'bulk' and the column that
-- names whose rows they are).
CREATE FUNCTION rekindle.audit_table(t text, VARIADIC keys text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    args text := (SELECT string_agg(quote_literal(k), ', ') FROM unnest(keys) k);
BEGIN
    EXECUTE format('CREATE TRIGGER audit_ins AFTER INSERT ON rekindle.%I '
        'REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT '
        'EXECUTE FUNCTION rekindle.audit_changes(%s)', t, args);
    EXECUTE format('CREATE TRIGGER audit_upd AFTER UPDATE ON rekindle.%I '
        'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
        'FOR EACH STATEMENT EXECUTE FUNCTION rekindle.audit_changes(%s)',
        t, args);
    EXECUTE format('CREATE TRIGGER audit_del AFTER DELETE ON rekindle.%I '
        'REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT '
        'EXECUTE FUNCTION rekindle.audit_changes(%s)', t, args);
END $$;

SELECT rekindle.audit_table('api_tokens', 'id');
SELECT rekindle.audit_table('customers', 'id');
SELECT rekindle.audit_table('customer_consents', 'customer_id', 'channel',
    'purpose');
SELECT rekindle.audit_table('consent_events', 'id');
SELECT rekindle.audit_table('partners', 'partner_id');
SELECT rekindle.audit_table('partner_merchants', 'merchant_id');
SELECT rekindle.audit_table('partner_name_prefixes', 'prefix');
SELECT rekindle.audit_table('promotions', 'id');
SELECT rekindle.audit_table('fx_rates', 'currency', 'day');
SELECT rekindle.audit_table('offers', 'offer_id');
SELECT rekindle.audit_table('offer_templates', 'offer_id', 'channel');
SELECT rekindle.audit_table('campaigns', 'campaign_id');
SELECT rekindle.audit_table('campaign_variants', 'campaign_id', 'variant_id');
SELECT rekindle.audit_table('variant_templates', 'campaign_id', 'variant_id',
    'channel');
SELECT rekindle.audit_table('campaign_launches', 'campaign_id');
SELECT rekindle.audit_table('profile_runs', 'id');
SELECT rekindle.audit_table('teams', 'team_id');
SELECT rekindle.audit_table('agents', 'agent_id');
SELECT rekindle.audit_table('tickets', 'id');
SELECT rekindle.audit_table('ticket_notes', 'id');
SELECT rekindle.audit_table('call_attempts', 'id');
-- many rows per call: one event per statement
SELECT rekindle.audit_table('transactions', 'bulk', 'customer_id');
SELECT rekindle.audit_table('events', 'bulk', 'customer_id');
SELECT rekindle.audit_table('messages', 'bulk', 'campaign_id');
SELECT rekindle.audit_table('timers', 'bulk', 'campaign_id');
SELECT rekindle.audit_table('voucher_codes', 'bulk', 'offer_id');
SELECT rekindle.audit_table('do_not_call', 'bulk');

-- An event that is not a row change (an erasure, an export), by the
-- caller rekindle.actor names.
CREATE FUNCTION rekindle.audit_note(p_type text, p_id text, p_action text,
    p_after jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO rekindle.audit_events (token_id, role, method, request_id,
        resource_type, resource_id, action, after)
    SELECT nullif(a[1], '')::bigint, coalesce(a[2], 'system'),
        coalesce(a[3], 'sql'), array_to_string(a[4:], '|'), p_type, p_id,
        p_action, p_after
    FROM string_to_array(current_setting('rekindle.actor', true), '|') a
$$;

-- ---- inbound replies (MO) ----

-- Replies from customers through the SMS gateway's inbound webhook and
-- Zalo's OA events: what came, from whom (the customer it matched and a
-- SHA-256 of the sender's number, never the number), the keyword it
-- matched and what rekindle did. A consent withdrawal it caused names it
-- as evidence ("inbound:ID").
CREATE TABLE rekindle.inbound_messages (
    id                   bigserial PRIMARY KEY,
    provider             text NOT NULL,   -- 'sms', 'zalo'
    provider_message_id  text NOT NULL,
    received_at          timestamptz NOT NULL DEFAULT now(),
    sender_digest        bytea,
    customer_id          text,
    text                 text,
    keyword              text,
    -- 'opt_out', 'ignored' (no keyword), 'unknown_sender'
    action               text NOT NULL,
    UNIQUE (provider, provider_message_id)
);
CREATE INDEX inbound_messages_customer ON rekindle.inbound_messages
    (customer_id);

-- ---- erasure ----

-- A customer once erased: the SHA-256 of the id the bank knew them by
-- (so a repeated request is answered, and nothing of the id is kept in
-- the clear) and the pseudonym their non-personal rows now carry.
CREATE TABLE rekindle.erased_customers (
    id_digest  bytea PRIMARY KEY,
    pseudonym  text NOT NULL UNIQUE,
    erased_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE rekindle.customers ADD COLUMN erased_at timestamptz;
-- the id is renamed everywhere it is a key
ALTER TABLE rekindle.customer_consents
    DROP CONSTRAINT customer_consents_customer_id_fkey,
    ADD CONSTRAINT customer_consents_customer_id_fkey FOREIGN KEY
        (customer_id) REFERENCES rekindle.customers (id) ON UPDATE CASCADE;

-- Erases customer p_id: cancels what is pending for them, invalidates
-- their links (the tracker refuses an erased customer's message), and
-- removes or irreversibly replaces every personal datum - contacts,
-- recipient digests, ticket notes and summaries, call notes, consent
-- evidence, the browser and address of their events - and renames the
-- customer, in every table that names them, to a random pseudonym, so
-- counts and aggregates stay whole but the id the bank knew them by is
-- free: upserted again it is a new person. Returns the pseudonym and
-- whether this call erased (false: erased before). NULL when the id was
-- never known.
CREATE FUNCTION rekindle.erase_customer(p_id text, p_reason text,
    OUT pseudonym text, OUT erased boolean)
LANGUAGE plpgsql AS $$
DECLARE
    digest bytea := sha256(convert_to(p_id, 'UTF8'));
    t      record;
BEGIN
    SELECT e.pseudonym INTO pseudonym FROM rekindle.erased_customers e
    WHERE e.id_digest = digest;
    PERFORM 1 FROM rekindle.customers WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        erased := false;    -- erased before (pseudonym set) or unknown
        RETURN;
    END IF;
    pseudonym := 'erased-' || replace(gen_random_uuid()::text, '-', '');
    erased := true;
    PERFORM set_config('rekindle.erasing', 'on', true);

    -- what is pending stops
    UPDATE rekindle.messages SET
        state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END,
        resend = false, reason = 'customer erased', updated_at = now()
    WHERE customer_id = p_id
      AND (state = 'queued' OR (state = 'uncertain' AND resend));
    UPDATE rekindle.timers SET state = 'cancelled', outcome = 'customer erased'
    WHERE state = 'pending' AND (customer_id = p_id OR ticket_id IN
        (SELECT id FROM rekindle.tickets WHERE customer_id = p_id));
    UPDATE rekindle.tickets SET state = 6, closed_at = now(),
        closed_reason = 'customer erased', updated_at = now()
    WHERE customer_id = p_id AND (state < 5 OR (state = 5 AND resolution = 4));

    -- personal data
    UPDATE rekindle.customers SET full_name = NULL, phone_e164 = NULL,
        email = NULL, push_token = NULL, zalo_available = false,
        source = 'erased', erased_at = now(), updated_at = now()
    WHERE id = p_id;
    UPDATE rekindle.messages SET recipient = NULL, last_error = NULL
    WHERE customer_id = p_id;
    UPDATE rekindle.events SET user_agent = NULL, source_ip = NULL
    WHERE customer_id = p_id;
    UPDATE rekindle.consent_events SET evidence = NULL
    WHERE customer_id = p_id AND evidence IS NOT NULL;
    UPDATE rekindle.tickets SET context_summary = '[erased]',
        talking_points = '{}'
    WHERE customer_id = p_id;
    UPDATE rekindle.ticket_notes SET text = '[erased]'
    WHERE ticket_id IN (SELECT id FROM rekindle.tickets
                        WHERE customer_id = p_id);
    UPDATE rekindle.call_attempts SET note = NULL
    WHERE customer_id = p_id AND note IS NOT NULL;
    UPDATE rekindle.ticket_audit SET detail = detail - 'note' - 'text'
    WHERE ticket_id IN (SELECT id FROM rekindle.tickets
                        WHERE customer_id = p_id);
    UPDATE rekindle.inbound_messages SET text = NULL, sender_digest = NULL
    WHERE customer_id = p_id;

    -- the id, everywhere it names them (customer_consents by cascade)
    UPDATE rekindle.customers SET id = pseudonym WHERE id = p_id;
    FOR t IN SELECT c.table_name FROM information_schema.columns c
             JOIN information_schema.tables tb USING (table_schema, table_name)
             WHERE c.table_schema = 'rekindle' AND c.column_name = 'customer_id'
               AND tb.table_type = 'BASE TABLE'
               AND c.table_name NOT IN ('customer_consents')
    LOOP
        EXECUTE format('UPDATE rekindle.%I SET customer_id = $1 '
            'WHERE customer_id = $2', t.table_name) USING pseudonym, p_id;
    END LOOP;
    UPDATE rekindle.audit_events SET
        resource_id = CASE WHEN resource_id = p_id THEN pseudonym
            ELSE replace(resource_id, p_id || ':', pseudonym || ':') END,
        before = CASE WHEN before ->> 'customer_id' = p_id
            THEN jsonb_set(before, '{customer_id}', to_jsonb(pseudonym))
            WHEN before ->> 'id' = p_id AND resource_type = 'customers'
            THEN jsonb_set(before, '{id}', to_jsonb(pseudonym))
            ELSE before END,
        after = CASE WHEN after ->> 'customer_id' = p_id
            THEN jsonb_set(after, '{customer_id}', to_jsonb(pseudonym))
            WHEN after ->> 'id' = p_id AND resource_type = 'customers'
            THEN jsonb_set(after, '{id}', to_jsonb(pseudonym))
            ELSE after END
    WHERE (resource_type = 'customers' AND resource_id = p_id)
       OR (resource_type = 'customer_consents' AND resource_id LIKE p_id || ':%')
       OR coalesce(after ->> 'customer_id', before ->> 'customer_id') = p_id;

    PERFORM rekindle.audit_note('customers', pseudonym, 'erase',
        jsonb_build_object('reason', p_reason));
    INSERT INTO rekindle.erased_customers (id_digest, pseudonym)
    VALUES (digest, pseudonym)
    ON CONFLICT (id_digest) DO UPDATE SET pseudonym = EXCLUDED.pseudonym,
        erased_at = now();
END $$;

-- ---- export ----

-- Everything held about customer p_id, as one document (NULL if unknown).
-- Each message carries "render": its template and values, from which the
-- API renders what it said (as the delivery pool did) and drops them.
CREATE FUNCTION rekindle.export_customer(p_id text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
SELECT jsonb_build_object(
    'format', 'rekindle.customer-export/1',
    'exported_at', now(),
    'customer', to_jsonb(cu),
    'consents', (SELECT coalesce(jsonb_agg(to_jsonb(k) ORDER BY k.channel,
        k.purpose), '[]') FROM rekindle.customer_consents k
        WHERE k.customer_id = p_id),
    'consent_events', (SELECT coalesce(jsonb_agg(to_jsonb(e) ORDER BY e.id),
        '[]') FROM rekindle.consent_events e WHERE e.customer_id = p_id),
    'transactions', (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY
        t.occurred_at, t.txn_id), '[]') FROM rekindle.transactions t
        WHERE t.customer_id = p_id),
    'profile', (SELECT to_jsonb(pr) FROM rekindle.customer_profiles pr
        WHERE pr.customer_id = p_id),
    'journeys', (SELECT coalesce(jsonb_agg(to_jsonb(mb) ORDER BY
        mb.campaign_id), '[]') FROM rekindle.campaign_members mb
        WHERE mb.customer_id = p_id),
    'journey_entries', (SELECT coalesce(jsonb_agg(to_jsonb(en) ORDER BY
        en.campaign_id, en.entry), '[]') FROM rekindle.campaign_entries en
        WHERE en.customer_id = p_id),
    'voucher_codes', (SELECT coalesce(jsonb_agg(to_jsonb(v) ORDER BY
        v.assigned_at), '[]') FROM rekindle.voucher_codes v
        WHERE v.customer_id = p_id),
    'messages', (SELECT coalesce(jsonb_agg(to_jsonb(m) - 'recipient'
        || jsonb_build_object('render', jsonb_build_object(
            'subject', coalesce(vt.subject, t.subject, ''),
            'body', coalesce(vt.body, t.body, ''),
            'provider_template_id', coalesce(vt.provider_template_id,
                t.provider_template_id, ''),
            'name', coalesce(cu.full_name, ''),
            'offer', coalesce(o.title, ''),
            'partner', coalesce(pa.display_name, o.partner_id, ''),
            'expiry', coalesce(to_char(o.valid_until AT TIME ZONE
                cu.time_zone, 'DD/MM/YYYY'), ''),
            'code', coalesce(mb.voucher_code, '')))
        ORDER BY m.id), '[]')
        FROM rekindle.messages m
        LEFT JOIN rekindle.campaign_members mb ON mb.campaign_id =
            m.campaign_id AND mb.customer_id = m.customer_id
        LEFT JOIN rekindle.offers o ON o.offer_id = mb.offer_id
        LEFT JOIN rekindle.partners pa ON pa.partner_id = o.partner_id
        LEFT JOIN rekindle.offer_templates t ON t.offer_id = o.offer_id
            AND t.channel = m.channel
        LEFT JOIN rekindle.variant_templates vt ON vt.campaign_id =
            m.campaign_id AND vt.variant_id = mb.variant_id
            AND vt.channel = m.channel
        WHERE m.customer_id = p_id),
    'events', (SELECT coalesce(jsonb_agg(to_jsonb(ev) ORDER BY
        ev.occurred_at, ev.event_id), '[]') FROM rekindle.events ev
        WHERE ev.customer_id = p_id),
    'tickets', (SELECT coalesce(jsonb_agg(to_jsonb(tk) || jsonb_build_object(
        'notes', (SELECT coalesce(jsonb_agg(to_jsonb(n) ORDER BY n.id), '[]')
            FROM rekindle.ticket_notes n WHERE n.ticket_id = tk.id),
        'call_attempts', (SELECT coalesce(jsonb_agg(to_jsonb(ca) ORDER BY
            ca.id), '[]') FROM rekindle.call_attempts ca
            WHERE ca.ticket_id = tk.id),
        'history', (SELECT coalesce(jsonb_agg(to_jsonb(ta) ORDER BY ta.id),
            '[]') FROM rekindle.ticket_audit ta WHERE ta.ticket_id = tk.id))
        ORDER BY tk.id), '[]') FROM rekindle.tickets tk
        WHERE tk.customer_id = p_id),
    'inbound_messages', (SELECT coalesce(jsonb_agg(to_jsonb(im) -
        'sender_digest' ORDER BY im.id), '[]') FROM rekindle.inbound_messages im
        WHERE im.customer_id = p_id),
    'audit', (SELECT coalesce(jsonb_agg(to_jsonb(au) ORDER BY au.id), '[]')
        FROM rekindle.audit_events au
        WHERE (au.resource_type = 'customers' AND au.resource_id = p_id)
           OR (au.resource_type = 'customer_consents'
               AND au.resource_id LIKE p_id || ':%')
           OR coalesce(au.after ->> 'customer_id',
                       au.before ->> 'customer_id') = p_id))
FROM rekindle.customers cu WHERE cu.id = p_id
$$;
