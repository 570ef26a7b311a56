-- A campaign's provider rate (campaigns.provider_rate_per_second, 0: no
-- limit), kept by every delivery process of a channel together: the
-- generic cell rate algorithm in its virtual-scheduling form (ITU-T
-- I.371; ATM Forum Traffic Management 4.0). tat is the theoretical
-- arrival time of the campaign's next call on the channel: each call
-- takes the slot max(tat, now) and moves tat on by 1/rate seconds. The
-- row is locked only inside a claim's transaction, never across a call.
CREATE TABLE rekindle.campaign_pace (
    campaign_id text NOT NULL REFERENCES rekindle.campaigns ON DELETE CASCADE,
    channel     smallint NOT NULL,
    tat         timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, channel)
);

-- The slot a message was deferred to by its campaign's rate: set only by
-- that deferral, cleared by every other move of the message, so a slot
-- is spent by one call at most.
ALTER TABLE rekindle.messages ADD COLUMN pace_slot timestamptz;
