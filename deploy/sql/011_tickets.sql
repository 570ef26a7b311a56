-- 011_tickets: telesales / customer-service teams and agents, the tickets
-- escalation opens for customers who showed interest but did not
-- register, every call attempt (counted by the contact governor), and
-- the audit trail of every change to a ticket.

-- routing as rekindle.v1.RoutingMode: 1 round-robin, 2 least-loaded,
-- 3 skills-based.
CREATE TABLE rekindle.teams (
    team_id             text PRIMARY KEY,
    name                text NOT NULL,
    routing             smallint NOT NULL DEFAULT 1
                        CHECK (routing BETWEEN 1 AND 3),
    sla_business_hours  integer NOT NULL DEFAULT 4 CHECK (sla_business_hours > 0),
    supervisor_agent_id text,
    created_at          timestamptz NOT NULL DEFAULT now()
);

-- An agent calls the API with a token of role agent naming them
-- (api_tokens.agent_id). Working hours: days as ISO weekday numbers (1 Monday .. 7 Sunday) and
-- minutes after local midnight.
CREATE TABLE rekindle.agents (
    agent_id        text PRIMARY KEY,
    team_id         text NOT NULL REFERENCES rekindle.teams,
    display_name    text NOT NULL,
    skills          text[] NOT NULL DEFAULT '{}',
    capacity        integer NOT NULL DEFAULT 10 CHECK (capacity BETWEEN 1 AND 1000),
    available       boolean NOT NULL DEFAULT true,
    work_days       smallint[] NOT NULL DEFAULT '{1,2,3,4,5}',
    work_start_min  smallint NOT NULL DEFAULT 480,
    work_end_min    smallint NOT NULL DEFAULT 1020,
    time_zone       text NOT NULL DEFAULT 'Asia/Ho_Chi_Minh',
    last_assigned_at timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (work_end_min > work_start_min)
);
CREATE INDEX agents_team ON rekindle.agents (team_id);
ALTER TABLE rekindle.teams ADD FOREIGN KEY (supervisor_agent_id)
    REFERENCES rekindle.agents DEFERRABLE INITIALLY DEFERRED;

-- state as rekindle.v1.TicketState (1 new .. 6 closed), resolution as
-- rekindle.v1.Resolution. Priority 1 (highest) .. 5.
CREATE TABLE rekindle.tickets (
    id              bigserial PRIMARY KEY,
    campaign_id     text NOT NULL,
    customer_id     text NOT NULL,
    offer_id        text,
    team_id         text NOT NULL REFERENCES rekindle.teams,
    agent_id        text REFERENCES rekindle.agents,
    state           smallint NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 6),
    resolution      smallint CHECK (resolution BETWEEN 1 AND 4),
    priority        smallint NOT NULL DEFAULT 3 CHECK (priority BETWEEN 1 AND 5),
    needs_skills    text[] NOT NULL DEFAULT '{}',
    context_summary text NOT NULL,
    talking_points  text[] NOT NULL DEFAULT '{}',
    sla_due_at      timestamptz NOT NULL,
    sla_breached    boolean NOT NULL DEFAULT false,
    supervisor_flag boolean NOT NULL DEFAULT false,
    call_back_at    timestamptz,
    first_contact_at timestamptz,
    call_attempts   integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    closed_at       timestamptz
);
-- One open ticket per customer per campaign.
CREATE UNIQUE INDEX tickets_one_open ON rekindle.tickets (campaign_id,
    customer_id) WHERE state < 5;
CREATE INDEX tickets_agent ON rekindle.tickets (agent_id) WHERE state < 5;
CREATE INDEX tickets_team_queue ON rekindle.tickets (team_id, priority,
    created_at) WHERE state < 5;

CREATE TABLE rekindle.ticket_notes (
    id          bigserial PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES rekindle.tickets,
    agent_id    text,
    text        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_notes_ticket ON rekindle.ticket_notes (ticket_id);

-- Every call an agent made, advertising or not: the governor counts
-- them (at most 1 advertising call per customer in 24 hours).
CREATE TABLE rekindle.call_attempts (
    id          bigserial PRIMARY KEY,
    request_id  text UNIQUE,
    ticket_id   bigint NOT NULL REFERENCES rekindle.tickets,
    customer_id text NOT NULL,
    agent_id    text NOT NULL,
    reached     boolean NOT NULL,
    advertising boolean NOT NULL DEFAULT true,
    note        text,
    called_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX call_attempts_customer ON rekindle.call_attempts (customer_id,
    called_at);

-- The audit trail: who changed what on a ticket, and when. actor is
-- "agent:ID", "token:N", "timer" or "engagement".
CREATE TABLE rekindle.ticket_audit (
    id          bigserial PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES rekindle.tickets,
    actor       text NOT NULL,
    action      text NOT NULL,
    detail      jsonb NOT NULL DEFAULT '{}',
    at          timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX ticket_audit_ticket ON rekindle.ticket_audit (ticket_id, at);

-- t plus `minutes` of business time (ISO weekdays 1-5, day_start..day_end
-- minutes after local midnight, in zone): the SLA clock.
CREATE FUNCTION rekindle.business_add(t timestamptz, minutes integer,
    zone text, day_start integer DEFAULT 480, day_end integer DEFAULT 1020)
RETURNS timestamptz LANGUAGE plpgsql STABLE AS $$
DECLARE
    loc  timestamp := t AT TIME ZONE zone;
    d    date;
    m    integer;
    take integer;
BEGIN
    LOOP
        d := loc::date;
        m := extract(hour FROM loc)::integer * 60 +
             extract(minute FROM loc)::integer;
        IF extract(isodow FROM d) <= 5 AND m < day_end THEN
            m := greatest(m, day_start);
            take := least(minutes, day_end - m);
            minutes := minutes - take;
            IF minutes <= 0 THEN
                RETURN (d + make_interval(mins => m + take)) AT TIME ZONE zone;
            END IF;
        END IF;
        loc := (d + 1)::timestamp;
    END LOOP;
END $$;
