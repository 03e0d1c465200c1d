-- Rollups that materialized views keep current as events are inserted (docs/api.md says how each
-- answer is read from them). Every view writes TO an explicit table; aggregate states are merged at
-- query time (*Merge, or sum / groupUniqArrayArray for the simple ones). The targets keep the same
-- insert deduplication window as `events`: a segment the writer replays after a crash carries the
-- same token, and the views' inserts are dropped with it, so nothing is counted twice.

-- Heat tiles: x as a fraction of the document width in 1% columns (tile_x 0..99, integer arithmetic:
-- x * 100 div width), y in 10 px rows of the document. Clicks on fixed or sticky elements (`fixed`)
-- are in viewport coordinates: their x is a fraction of the viewport width, their y viewport pixels. Moves contribute
-- each aggregated cell with its hit count. Visitors: the anonymous id, else the day's visitor key,
-- hashed (cityHash64) so the exact distinct count stays small.
CREATE TABLE IF NOT EXISTS {{ db }}.heat_tiles {{ on_cluster }}
(
    site_id UInt32,
    page_key String,
    width_bucket UInt16,
    kind LowCardinality(String),
    day Date,
    fixed Bool,
    tile_x UInt8,
    tile_y UInt32,
    hits SimpleAggregateFunction(sum, UInt64),
    visitors AggregateFunction(uniqExact, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, page_key, width_bucket, kind, day, fixed, tile_x, tile_y)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.heat_tiles_mv {{ on_cluster }} TO {{ db }}.heat_tiles AS
SELECT
    site_id,
    page_key,
    width_bucket,
    type AS kind,
    toDate(timestamp) AS day,
    fixed,
    toUInt8(least(intDiv(if(type = 'move', tupleElement(point, 1), x) * 100, greatest(if(fixed, viewport_w, doc_w), 1)), 99)) AS tile_x,
    toUInt32(intDiv(if(type = 'move', tupleElement(point, 2), y), 10)) AS tile_y,
    sum(if(type = 'move', tupleElement(point, 3), 1)) AS hits,
    uniqExactState(cityHash64(if(anonymous_id != '', anonymous_id, visitor_key))) AS visitors
FROM {{ db }}.events
ARRAY JOIN if(type = 'move', points, [tuple(0, 0, 1)]) AS point
WHERE type IN ('click', 'rageclick', 'deadclick', 'move')
GROUP BY site_id, page_key, width_bucket, kind, day, fixed, tile_x, tile_y;

-- Elements: clicks, rage clicks and dead clicks per selector.
CREATE TABLE IF NOT EXISTS {{ db }}.element_clicks {{ on_cluster }}
(
    site_id UInt32,
    page_key String,
    width_bucket UInt16,
    kind LowCardinality(String),
    day Date,
    selector String,
    hits SimpleAggregateFunction(sum, UInt64),
    visitors AggregateFunction(uniqExact, UInt64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, page_key, width_bucket, kind, day, selector)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.element_clicks_mv {{ on_cluster }} TO {{ db }}.element_clicks AS
SELECT
    site_id,
    page_key,
    width_bucket,
    type AS kind,
    toDate(timestamp) AS day,
    selector,
    count() AS hits,
    uniqExactState(cityHash64(if(anonymous_id != '', anonymous_id, visitor_key))) AS visitors
FROM {{ db }}.events
WHERE type IN ('click', 'rageclick', 'deadclick') AND selector != ''
GROUP BY site_id, page_key, width_bucket, kind, day, selector;

-- Scroll: one `scroll` event per pageview carries its deepest point; pageviews per 5% bucket
-- (depth_bucket 0, 5, ..., 100). "Reached at least d%" is the sum over buckets >= d.
CREATE TABLE IF NOT EXISTS {{ db }}.scroll_depths {{ on_cluster }}
(
    site_id UInt32,
    page_key String,
    width_bucket UInt16,
    day Date,
    depth_bucket UInt8,
    pageviews UInt64
)
ENGINE = SummingMergeTree(pageviews)
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, page_key, width_bucket, day, depth_bucket)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.scroll_depths_mv {{ on_cluster }} TO {{ db }}.scroll_depths AS
SELECT site_id, page_key, width_bucket, toDate(timestamp) AS day, toUInt8(intDiv(depth, 5) * 5) AS depth_bucket, count() AS pageviews
FROM {{ db }}.events
WHERE type = 'scroll'
GROUP BY site_id, page_key, width_bucket, day, depth_bucket;

-- Visitor days: one row per (site, actor, day), where the actor is the anonymous id, else the user id.
-- Events are named by type ("$pageview", "$identify", ...) and by name for `track`. Attributes are
-- the day's first event's; revenue sums a numeric `revenue` property.
CREATE TABLE IF NOT EXISTS {{ db }}.visitor_days {{ on_cluster }}
(
    site_id UInt32,
    day Date,
    actor String,
    events SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    event_count SimpleAggregateFunction(sum, UInt64),
    revenue SimpleAggregateFunction(sum, Float64),
    country AggregateFunction(argMin, String, DateTime64(3, 'UTC')),
    device AggregateFunction(argMin, String, DateTime64(3, 'UTC')),
    utm_source AggregateFunction(argMin, String, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day, actor)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.visitor_days_mv {{ on_cluster }} TO {{ db }}.visitor_days AS
SELECT
    site_id,
    toDate(timestamp) AS day,
    if(anonymous_id != '', anonymous_id, user_id) AS actor,
    groupUniqArray(if(type = 'track', name, concat('$', type))) AS events,
    count() AS event_count,
    sum(JSONExtractFloat(properties, 'revenue')) AS revenue,
    argMinState(toString(country), timestamp) AS country,
    argMinState(toString(device), timestamp) AS device,
    argMinState(toString(utm_source), timestamp) AS utm_source
FROM {{ db }}.events
WHERE (anonymous_id != '' OR user_id != '') AND type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll')
GROUP BY site_id, day, actor;

-- Identities: which user an anonymous id became (the latest user id seen with it). Queries map each
-- actor through this, so the days before `identify` count for the same person (docs/api.md).
CREATE TABLE IF NOT EXISTS {{ db }}.identities {{ on_cluster }}
(
    site_id UInt32,
    anonymous_id String,
    user_id AggregateFunction(argMax, String, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (site_id, anonymous_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.identities_mv {{ on_cluster }} TO {{ db }}.identities AS
SELECT e.site_id AS site_id, e.anonymous_id AS anonymous_id, argMaxState(e.user_id, e.timestamp) AS user_id
FROM {{ db }}.events AS e
WHERE e.anonymous_id != '' AND e.user_id != ''
GROUP BY e.site_id, e.anonymous_id;

-- Actor days by event: for each (site, event name, actor), the days the actor did it, and under the
-- name '*' the days of any event. Retention and segments without attribute filters read only the rows
-- of the two events they ask about: one row per actor, not per actor and day.
CREATE TABLE IF NOT EXISTS {{ db }}.actor_days {{ on_cluster }}
(
    site_id UInt32,
    name String,
    actor String,
    days SimpleAggregateFunction(groupUniqArrayArray, Array(Date))
)
ENGINE = AggregatingMergeTree
ORDER BY (site_id, name, actor)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.actor_days_mv {{ on_cluster }} TO {{ db }}.actor_days AS
SELECT
    e.site_id AS site_id,
    event_name AS name,
    if(e.anonymous_id != '', e.anonymous_id, e.user_id) AS actor,
    groupUniqArray(toDate(e.timestamp)) AS days
FROM {{ db }}.events AS e
ARRAY JOIN [if(e.type = 'track', e.name, concat('$', e.type)), '*'] AS event_name
WHERE (e.anonymous_id != '' OR e.user_id != '') AND e.type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll')
GROUP BY site_id, name, actor;
