-- What happened to the events each site sent, per hour: accepted, or rejected with a reason.
-- Rows with the same key are summed on merge; read with sum(events) ... GROUP BY.
CREATE TABLE IF NOT EXISTS {{ db }}.ingest_counters {{ on_cluster }}
(
    site_id UInt32,
    hour DateTime('UTC'),
    outcome LowCardinality(String),
    reason LowCardinality(String),
    events UInt64
)
ENGINE = SummingMergeTree(events)
PARTITION BY toYYYYMM(hour)
ORDER BY (site_id, hour, outcome, reason);
