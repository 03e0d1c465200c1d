-- GET /api/v1/live: what happened to a site's events in the hours from {day_from} on, and from {hour_from}.
SELECT
    outcome,
    reason,
    sumIf(events, hour >= toDateTime({hour_from:UInt32}, 'UTC')) AS last_hour,
    sum(events) AS last_24h
FROM {{ db }}.ingest_counters
WHERE site_id = {site:UInt32} AND hour >= toDateTime({day_from:UInt32}, 'UTC')
GROUP BY outcome, reason
ORDER BY outcome, reason;
