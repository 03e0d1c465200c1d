-- Faster rollups for heatmaps and retention (docs/performance.md has the measurements). Three of 0008's
-- tables are replaced, and the new ones are filled from `events`, so they also hold what happened before
-- 0008. Run with the collectors stopped: `footfall serve` migrates before it accepts events, and on a
-- cluster `footfall migrate` runs ahead of the deploy. A migration that fails halfway runs again from its
-- start: each fill empties its table first, and does not deduplicate against the first attempt's blocks.

-- Heat tiles, keyed by the page key's cityHash64 (a UInt64 compares faster than a string) and by day
-- before width, so a page's days are one range whichever widths are asked for. Same tiles as 0008.
DROP VIEW IF EXISTS {{ db }}.heat_tiles_mv {{ on_cluster }};
DROP TABLE IF EXISTS {{ db }}.heat_tiles {{ on_cluster }};

{% set page_tiles_select %}
SELECT
    site_id,
    cityHash64(page_key) AS page_hash,
    type AS kind,
    toDate(timestamp) AS day,
    width_bucket,
    fixed,
    toUInt8(least(intDiv(if(type = 'move', tupleElement(point, 1), x) * 100, greatest(if(fixed, viewport_w, doc_w), 1)), 99)) AS tile_x,
    toUInt32(intDiv(if(type = 'move', tupleElement(point, 2), y), 10)) AS tile_y,
    sum(if(type = 'move', tupleElement(point, 3), 1)) AS hits,
    uniqExactState(cityHash64(if(anonymous_id != '', anonymous_id, visitor_key))) AS visitors
FROM {{ db }}.events
ARRAY JOIN if(type = 'move', points, [tuple(0, 0, 1)]) AS point
WHERE type IN ('click', 'rageclick', 'deadclick', 'move')
GROUP BY site_id, page_hash, kind, day, width_bucket, fixed, tile_x, tile_y
{% endset %}
CREATE TABLE IF NOT EXISTS {{ db }}.page_tiles {{ on_cluster }}
(
    site_id UInt32,
    page_hash UInt64,
    kind LowCardinality(String),
    day Date,
    width_bucket UInt16,
    fixed Bool,
    tile_x UInt8,
    tile_y UInt32,
    hits SimpleAggregateFunction(sum, UInt64),
    visitors AggregateFunction(uniqExact, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, page_hash, kind, day, width_bucket, fixed, tile_x, tile_y)
SETTINGS non_replicated_deduplication_window = 10000;

TRUNCATE TABLE IF EXISTS {{ db }}.page_tiles {{ on_cluster }};

INSERT INTO {{ db }}.page_tiles SETTINGS insert_deduplicate = 0
{{ page_tiles_select }};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.page_tiles_mv {{ on_cluster }} TO {{ db }}.page_tiles AS
{{ page_tiles_select }};

-- Identity links: which user an anonymous id became, as plain columns that ReplacingMergeTree keeps
-- for the highest `version`: the event's time in ms, then 20 bits of the user id's hash, so two
-- identifications in the same millisecond resolve the same way in every replica and in the raw scan.
-- Read with FINAL, which costs a few ms where merging aggregate states cost tens.
DROP VIEW IF EXISTS {{ db }}.identities_mv {{ on_cluster }};
DROP TABLE IF EXISTS {{ db }}.identities {{ on_cluster }};

{% set identity_links_select %}
SELECT
    l.site_id AS site_id,
    l.anon_key AS anon_key,
    max(l.v) AS version,
    argMax(cityHash64(l.uid), l.v) AS person_key,
    argMax(l.uid, l.v) AS user_id
FROM
(
    SELECT e.site_id AS site_id, cityHash64(e.anonymous_id) AS anon_key, e.user_id AS uid,
        toUInt64(toUnixTimestamp64Milli(e.timestamp)) * 1048576 + cityHash64(e.user_id) % 1048576 AS v
    FROM {{ db }}.events AS e
    WHERE e.anonymous_id != '' AND e.user_id != ''
) AS l
GROUP BY l.site_id, l.anon_key
{% endset %}
CREATE TABLE IF NOT EXISTS {{ db }}.identity_links {{ on_cluster }}
(
    site_id UInt32,
    anon_key UInt64,
    version UInt64,
    person_key UInt64,
    user_id String
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (site_id, anon_key)
SETTINGS non_replicated_deduplication_window = 10000;

TRUNCATE TABLE IF EXISTS {{ db }}.identity_links {{ on_cluster }};

INSERT INTO {{ db }}.identity_links SETTINGS insert_deduplicate = 0
{{ identity_links_select }};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.identity_links_mv {{ on_cluster }} TO {{ db }}.identity_links AS
{{ identity_links_select }};

-- Actor events: for each (site, event name, actor), the first day the actor did it and the days, weeks
-- (Mondays) and months (first days) in which it did; under the name '*', any event. Keyed by the actor's
-- cityHash64, which is also the person key of an actor never identified. Retention reads the period's
-- column as it is stored; segments read `days` and `actor`.
DROP VIEW IF EXISTS {{ db }}.actor_days_mv {{ on_cluster }};
DROP TABLE IF EXISTS {{ db }}.actor_days {{ on_cluster }};

{% set actor_events_select %}
SELECT
    e.site_id AS site_id,
    event_name AS name,
    cityHash64(if(e.anonymous_id != '', e.anonymous_id, e.user_id)) AS actor_key,
    any(if(e.anonymous_id != '', e.anonymous_id, e.user_id)) AS actor,
    min(toDate(e.timestamp)) AS first_day,
    groupUniqArray(toDate(e.timestamp)) AS days,
    groupUniqArray(toMonday(toDate(e.timestamp))) AS weeks,
    groupUniqArray(toStartOfMonth(toDate(e.timestamp))) AS months
FROM {{ db }}.events AS e
ARRAY JOIN [if(e.type = 'track', e.name, concat('$', e.type)), '*'] AS event_name
WHERE (e.anonymous_id != '' OR e.user_id != '') AND e.type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll')
GROUP BY site_id, name, actor_key
{% endset %}
CREATE TABLE IF NOT EXISTS {{ db }}.actor_events {{ on_cluster }}
(
    site_id UInt32,
    name String,
    actor_key UInt64,
    actor SimpleAggregateFunction(any, String),
    first_day SimpleAggregateFunction(min, Date),
    days SimpleAggregateFunction(groupUniqArrayArray, Array(Date)),
    weeks SimpleAggregateFunction(groupUniqArrayArray, Array(Date)),
    months SimpleAggregateFunction(groupUniqArrayArray, Array(Date))
)
ENGINE = AggregatingMergeTree
ORDER BY (site_id, name, actor_key)
SETTINGS non_replicated_deduplication_window = 10000;

TRUNCATE TABLE IF EXISTS {{ db }}.actor_events {{ on_cluster }};

INSERT INTO {{ db }}.actor_events SETTINGS insert_deduplicate = 0
{{ actor_events_select }};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.actor_events_mv {{ on_cluster }} TO {{ db }}.actor_events AS
{{ actor_events_select }};
