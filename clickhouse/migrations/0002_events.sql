-- Raw events: every type the v1 protocol defines, one wide row each (docs/protocol.md).
-- Sorted by site first so every per-site read touches one range; event_id last so that a
-- replayed copy of an event collapses into one row (ReplacingMergeTree) on merge.
-- Each row carries its site's retention, so the TTL is per site.
CREATE TABLE IF NOT EXISTS {{ db }}.events {{ on_cluster }}
(
    site_id UInt32,
    event_id UUID,
    type LowCardinality(String),
    name LowCardinality(String),
    timestamp DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    client_ts DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    sent_at Nullable(DateTime64(3, 'UTC')),
    received_at DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),

    anonymous_id String,
    user_id String,
    session_id String,
    group_id String,
    previous_id String,

    url String CODEC(ZSTD(3)),
    host LowCardinality(String),
    path String CODEC(ZSTD(3)),
    referrer String CODEC(ZSTD(3)),
    referrer_host LowCardinality(String),
    utm_source LowCardinality(String),
    utm_medium LowCardinality(String),
    utm_campaign LowCardinality(String),
    utm_term String,
    utm_content String,
    title String CODEC(ZSTD(3)),

    viewport_w UInt16,
    viewport_h UInt16,
    doc_w UInt32,
    doc_h UInt32,
    x UInt32,
    y UInt32,
    el_x Int32,
    el_y Int32,
    fixed Bool,
    selector String CODEC(ZSTD(3)),
    points Array(Tuple(x UInt32, y UInt32, n UInt32)),
    depth UInt8,

    consent_analytics Bool,
    consent_heatmaps Bool,
    consent_marketing Bool,
    properties String CODEC(ZSTD(3)),
    traits String CODEC(ZSTD(3)),
    library LowCardinality(String),
    library_version LowCardinality(String),

    country LowCardinality(String),
    region LowCardinality(String),
    city LowCardinality(String),
    browser LowCardinality(String),
    browser_version LowCardinality(String),
    os LowCardinality(String),
    os_version LowCardinality(String),
    device LowCardinality(String),
    is_bot Bool,

    retention_days UInt16
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (site_id, toDate(timestamp), type, event_id)
TTL toDateTime(timestamp) + toIntervalDay(retention_days);
