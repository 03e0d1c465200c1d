-- GET /api/v1/counters: what happened to the events the site sent: accepted, or rejected / dropped
-- (by the collector or the SDK) with the reason.
SELECT outcome, reason, sum(events) AS events
FROM {{ db }}.ingest_counters
WHERE site_id = {site:UInt32} AND toDate(hour) BETWEEN {since:Date} AND {until:Date}
GROUP BY outcome, reason
ORDER BY outcome, events DESC, reason;
