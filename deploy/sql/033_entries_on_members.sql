-- A journey's current entry is its member row: who, which entry, treatment
-- or control, which offer and variant, since when (added_at). Writing it
-- again into campaign_entries cost every launch a second insertion per
-- customer (bench-launch, 982,345 entering: 2.4 s of 22). Only entries a
-- customer has left - kept, with how that journey ended, when they enter
-- again - are rows of their own now; campaign_entries reads both, as it
-- did, so every reader (the report, the variant split, the privacy export)
-- sees what it saw.
ALTER TABLE rekindle.campaign_entries RENAME TO campaign_past_entries;
ALTER INDEX rekindle.campaign_entries_pkey RENAME TO campaign_past_entries_pkey;
DELETE FROM rekindle.campaign_past_entries e
USING rekindle.campaign_members mb
WHERE mb.campaign_id = e.campaign_id AND mb.customer_id = e.customer_id
  AND mb.entry = e.entry AND mb.status IN ('treatment', 'control');

CREATE VIEW rekindle.campaign_entries AS
SELECT campaign_id, customer_id, entry, status, offer_id, entered_at,
       journey, registered_at, reminders, variant_id
FROM rekindle.campaign_past_entries
UNION ALL
-- the current entry: how its journey goes is on the member row itself
SELECT campaign_id, customer_id, entry, status,
       CASE WHEN status = 'treatment' THEN offer_id END, added_at,
       NULL::text, NULL::timestamptz, NULL::integer, variant_id
FROM rekindle.campaign_members
WHERE status IN ('treatment', 'control');
