-- 015_schedules: campaigns that run themselves. Three more kinds of
-- durable timer (rekindle-timer fires them, common/campaign.h names them):
--   5 start     at start_at: the launch job is queued, the audience is
--               selected as of that moment, the campaign runs;
--   6 end       at end_at: no new first message (queued ones cancelled);
--   7 check     is the campaign over (every journey ended, the
--               attribution window closed)? completed, or checked again.
-- A campaign's own timers name the campaign and no customer or ticket;
-- seq tells the checks of one campaign apart.
ALTER TABLE rekindle.timers DROP CONSTRAINT timers_kind_check;
ALTER TABLE rekindle.timers ADD CONSTRAINT timers_kind_check
    CHECK (kind BETWEEN 1 AND 7);
CREATE UNIQUE INDEX timers_campaign ON rekindle.timers (kind, campaign_id, seq)
    WHERE customer_id IS NULL AND ticket_id IS NULL;
CREATE INDEX timers_campaign_pending ON rekindle.timers (campaign_id)
    WHERE state = 'pending';

-- A launch waits for its start time ('scheduled') and ends 'cancelled'
-- when its campaign is cancelled first.
ALTER TABLE rekindle.campaign_launches
    DROP CONSTRAINT campaign_launches_state_check;
ALTER TABLE rekindle.campaign_launches ADD CONSTRAINT
    campaign_launches_state_check CHECK (state IN ('scheduled', 'running',
    'done', 'failed', 'cancelled'));

-- Why a ticket was closed without a resolution (its campaign cancelled).
ALTER TABLE rekindle.tickets ADD COLUMN closed_reason text;
CREATE INDEX tickets_campaign_open ON rekindle.tickets (campaign_id)
    WHERE state < 6;
