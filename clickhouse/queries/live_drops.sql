-- GET /api/v1/live: samples of the events a site lost (rejected, dropped) and why, newest first.
SELECT
    toUnixTimestamp64Milli(received_at) AS received_ms,
    received_at AS time,
    outcome,
    reason,
    type,
    name,
    path,
    library,
    detail
FROM {{ db }}.ingest_samples
WHERE site_id = {site:UInt32}
  AND received_at > fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC')
ORDER BY received_at DESC, outcome, reason
LIMIT {limit:UInt32};
