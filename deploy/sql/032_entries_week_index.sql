-- No statement asks for a campaign's entries by time: the report and the
-- variant split read all of a campaign's entries through the primary key
-- (campaign_id first) and group them. The index cost every launch a
-- million insertions for nothing (bench-launch: the 1 M launch's entries
-- step).
DROP INDEX rekindle.campaign_entries_week;
