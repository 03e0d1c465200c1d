-- The widths a page was seen at (the heatmap page's width picker, collector/reports/heatmap_layers.py):
-- per page, day and width bucket, its clicks and pageviews. Without it the layers answer scanned every
-- click and pageview of the range for one page (the events' key has no page). Filled from `events` like
-- 0016 (run with the collectors stopped; a rerun starts from an empty table).
{% set page_widths_select %}
SELECT site_id, cityHash64(page_key) AS page_hash, toDate(timestamp) AS day, width_bucket,
    countIf(type = 'click') AS clicks, countIf(type = 'pageview') AS pageviews
FROM {{ db }}.events
WHERE type IN ('click', 'pageview') AND width_bucket != 0
GROUP BY site_id, page_hash, day, width_bucket
{% endset %}
CREATE TABLE IF NOT EXISTS {{ db }}.page_widths {{ on_cluster }}
(
    site_id UInt32,
    page_hash UInt64,
    day Date,
    width_bucket UInt16,
    clicks UInt64,
    pageviews UInt64
)
ENGINE = SummingMergeTree((clicks, pageviews))
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, page_hash, day, width_bucket)
SETTINGS non_replicated_deduplication_window = 10000;

TRUNCATE TABLE IF EXISTS {{ db }}.page_widths {{ on_cluster }};

INSERT INTO {{ db }}.page_widths SETTINGS insert_deduplicate = 0
{{ page_widths_select }};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.page_widths_mv {{ on_cluster }} TO {{ db }}.page_widths AS
{{ page_widths_select }};
