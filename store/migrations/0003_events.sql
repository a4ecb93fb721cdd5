-- Communication events are listed newest first (GET /api/events), by
-- everyone's supervisors and with "since": without this index every
-- listing reads and sorts the whole table, which grows by one row a call.
-- (Agents' listings use comm_events_user.)
CREATE INDEX comm_events_start ON comm_events (start_at);
