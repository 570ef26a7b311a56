-- Only a treatment member is given an offer: the launch writes a control
-- or excluded member's offer as NULL (launch.c, MEMBERS_SQL). Said once,
-- here, where every writer is held to it, instead of again by each
-- reader (campaign_entries, and the launch keeping an earlier journey).
-- NOT VALID then VALIDATE: the check of the existing rows takes no lock
-- that stops launches or journeys meanwhile.
ALTER TABLE rekindle.campaign_members
  ADD CONSTRAINT campaign_members_offer_treatment
  CHECK (status = 'treatment' OR offer_id IS NULL) NOT VALID;
ALTER TABLE rekindle.campaign_members
  VALIDATE CONSTRAINT campaign_members_offer_treatment;

CREATE OR REPLACE VIEW rekindle.campaign_entries AS
SELECT campaign_id, customer_id, entry, status, offer_id, entered_at,
       journey, registered_at, reminders, variant_id
FROM rekindle.campaign_past_entries
UNION ALL
-- the current entry: how its journey goes is on the member row itself
SELECT campaign_id, customer_id, entry, status, offer_id, added_at,
       NULL::text, NULL::timestamptz, NULL::integer, variant_id
FROM rekindle.campaign_members
WHERE status IN ('treatment', 'control');
