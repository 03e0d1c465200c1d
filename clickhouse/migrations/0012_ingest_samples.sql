-- Samples of what a site's requests lost and why: a few refused (invalid, origin not allowed, rate
-- limited...) or dropped (bot, no consent) events per reason, per request and per minute, for the live
-- view (GET /api/v1/live). Diagnostics, not data: rows expire 7 days after they were stored, by
-- ClickHouse's clock (stored_at, filled on insert), so a collector whose clock is off neither loses them
-- on insert nor keeps them longer. The writer inserts them with the segment's deduplication token, so
-- a replayed segment adds no second copy.
CREATE TABLE IF NOT EXISTS {{ db }}.ingest_samples {{ on_cluster }}
(
    site_id UInt32,
    received_at DateTime64(3, 'UTC'),
    outcome LowCardinality(String),
    reason LowCardinality(String),
    type LowCardinality(String),
    name String,
    path String,
    library LowCardinality(String),
    detail String,
    stored_at DateTime('UTC') DEFAULT now()
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(stored_at)
ORDER BY (site_id, received_at)
TTL stored_at + INTERVAL 7 DAY DELETE
SETTINGS non_replicated_deduplication_window = 10000, ttl_only_drop_parts = 1;
