-- GET /api/v1/live: a site's events as they arrived, newest first, received after {since_ms}; only those
-- timed from {from_ms} on, so the read stays in the last days of the site's range.
SELECT
    toString(event_id) AS id,
    toUnixTimestamp64Milli(received_at) AS received_ms,
    timestamp,
    type,
    name,
    host,
    path,
    page_key,
    referrer_host,
    country,
    device,
    browser,
    os,
    library,
    left(visitor_key, 8) AS visitor
FROM {{ db }}.events
WHERE site_id = {site:UInt32}
  AND timestamp >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
  AND received_at > fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC')
ORDER BY received_at DESC, event_id
LIMIT {limit:UInt32};
