-- DOM snapshots: the backdrops heatmaps are drawn over (collector/heatmaps, docs/heatmaps.md).
-- One row per capture, sanitised on arrival. A snapshot of a logged-in page is personal data: it keeps
-- who captured it (anonymous_id, user_id, the day's visitor_key) so that erasure can find it, and its
-- site's retention, so the TTL is per site as for events.
-- snapshot_id is derived from the upload's ticket: a retried upload replaces its own row on merge.
CREATE TABLE IF NOT EXISTS {{ db }}.snapshots {{ on_cluster }}
(
    site_id UInt32,
    snapshot_id String,
    page_key String,
    width_bucket UInt16,
    captured_at DateTime64(3, 'UTC'),
    url String CODEC(ZSTD(3)),
    sig String,
    viewport_w UInt16,
    viewport_h UInt16,
    doc_w UInt32,
    doc_h UInt32,
    bytes UInt32,
    html String CODEC(ZSTD(3)),
    anonymous_id String,
    user_id String,
    visitor_key String,
    retention_days UInt16
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(captured_at)
ORDER BY (site_id, page_key, width_bucket, snapshot_id)
TTL toDateTime(captured_at) + toIntervalDay(retention_days)
SETTINGS non_replicated_deduplication_window = 1000;
