-- Element-anchored clicks for the heatmap page (collector/reports/heatmap_layers.py): per page, width and
-- day, each (selector, fixed, offset cell inside the element's box, tile) with its clicks and visitors.
-- fx / fy: the click's offset inside the element in % of its width / height (50 when the box is unknown),
-- so the drawing places it on the element the selector finds today; tile_x / tile_y: page_tiles' tile, for
-- a selector that finds nothing. Rage and dead clicks likewise. Filled from `events` like 0009 (run with the
-- collectors stopped; a rerun starts from an empty table).
{% set click_points_select %}
SELECT
    site_id,
    cityHash64(page_key) AS page_hash,
    type AS kind,
    toDate(timestamp) AS day,
    width_bucket,
    fixed,
    selector,
    toUInt8(if(el_w = 0, 50, least(greatest(intDiv(el_x * 100, toInt64(el_w)), 0), 100))) AS fx,
    toUInt8(if(el_h = 0, 50, least(greatest(intDiv(el_y * 100, toInt64(el_h)), 0), 100))) AS fy,
    toUInt8(least(intDiv(x * 100, greatest(if(fixed, viewport_w, doc_w), 1)), 99)) AS tile_x,
    toUInt32(intDiv(y, 10)) AS tile_y,
    count() AS hits,
    uniqExactState(cityHash64(if(anonymous_id != '', anonymous_id, visitor_key))) AS visitors
FROM {{ db }}.events
WHERE type IN ('click', 'rageclick', 'deadclick')
GROUP BY site_id, page_hash, kind, day, width_bucket, fixed, selector, fx, fy, tile_x, tile_y
{% endset %}
CREATE TABLE IF NOT EXISTS {{ db }}.click_points {{ on_cluster }}
(
    site_id UInt32,
    page_hash UInt64,
    kind LowCardinality(String),
    day Date,
    width_bucket UInt16,
    fixed Bool,
    selector String CODEC(ZSTD(3)),
    fx UInt8,
    fy UInt8,
    tile_x UInt8,
    tile_y UInt32,
    hits SimpleAggregateFunction(sum, UInt64),
    visitors AggregateFunction(uniqExact, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, page_hash, kind, day, width_bucket, fixed, selector, fx, fy, tile_x, tile_y)
SETTINGS non_replicated_deduplication_window = 10000;

TRUNCATE TABLE IF EXISTS {{ db }}.click_points {{ on_cluster }};

INSERT INTO {{ db }}.click_points SETTINGS insert_deduplicate = 0
{{ click_points_select }};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.click_points_mv {{ on_cluster }} TO {{ db }}.click_points AS
{{ click_points_select }};

-- The average fold: the viewport heights of scroll events (one per pageview), summed per page, width, day.
{% set scroll_folds_select %}
SELECT site_id, cityHash64(page_key) AS page_hash, toDate(timestamp) AS day, width_bucket,
    sum(toUInt64(viewport_h)) AS viewport_h_sum, count() AS pageviews
FROM {{ db }}.events
WHERE type = 'scroll'
GROUP BY site_id, page_hash, day, width_bucket
{% endset %}
CREATE TABLE IF NOT EXISTS {{ db }}.scroll_folds {{ on_cluster }}
(
    site_id UInt32,
    page_hash UInt64,
    day Date,
    width_bucket UInt16,
    viewport_h_sum UInt64,
    pageviews UInt64
)
ENGINE = SummingMergeTree((viewport_h_sum, pageviews))
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, page_hash, day, width_bucket)
SETTINGS non_replicated_deduplication_window = 10000;

TRUNCATE TABLE IF EXISTS {{ db }}.scroll_folds {{ on_cluster }};

INSERT INTO {{ db }}.scroll_folds SETTINGS insert_deduplicate = 0
{{ scroll_folds_select }};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.scroll_folds_mv {{ on_cluster }} TO {{ db }}.scroll_folds AS
{{ scroll_folds_select }};
