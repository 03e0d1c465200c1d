-- Closed days of traffic, rolled up (collector/reports/traffic_days.py): one row per site, UTC day,
-- kind and value with the day's sessions counted as traffic.panels() counts them (clickhouse/queries/
-- traffic_roll.sql): `overview` (value ''), `hour` (value: the hour bucket), each session dimension
-- (value: the session's), `page`, `event` and `revenue` (value: the currency). Visitors are uniqCombined(12) states,
-- so the days of a range merge into the range's distinct visitors (as `uniqCombined(12)` over the union counts them). A session
-- never spans two days, so a day that is over changes only by late events: traffic_changed keeps, per
-- site and day, when events last arrived for it (ClickHouse's clock, on insert), and a day's rows count
-- only while its roll (`rolled_at`, taken a margin before the roll read the sessions) is later than that;
-- otherwise reports read the day from traffic_sessions, and the next roll replaces its rows (rows of an
-- older roll are deleted then, and never read meanwhile).
-- The fill below marks every stored day as changed before any roll, so the collector's first roll rolls
-- them all; it empties both tables first and does not deduplicate, so the migration can run again from
-- its start (with the collectors stopped, as for 0011).
CREATE TABLE IF NOT EXISTS {{ db }}.traffic_days {{ on_cluster }}
(
    site_id UInt32,
    day Date,
    kind LowCardinality(String),
    value String,
    rolled_at DateTime64(6, 'UTC'),
    visitors AggregateFunction(uniqCombined(12), UInt64),
    sessions UInt64,
    pageviews UInt64,
    events UInt64,
    bounces UInt64,
    duration_ms UInt64,
    revenue Float64,
    orders UInt64
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day, kind, value)
SETTINGS index_granularity = 256;  -- a day is ~200 rows: reads stay within the days asked

CREATE TABLE IF NOT EXISTS {{ db }}.traffic_changed {{ on_cluster }}
(
    site_id UInt32,
    day Date,
    changed SimpleAggregateFunction(max, DateTime64(6, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (site_id, day)
SETTINGS non_replicated_deduplication_window = 10000;

TRUNCATE TABLE IF EXISTS {{ db }}.traffic_days {{ on_cluster }};

TRUNCATE TABLE IF EXISTS {{ db }}.traffic_changed {{ on_cluster }};

INSERT INTO {{ db }}.traffic_changed SETTINGS insert_deduplicate = 0
SELECT site_id, day, toDateTime64(1, 6, 'UTC') AS changed
FROM {{ db }}.traffic_sessions
GROUP BY site_id, day;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.traffic_changed_mv {{ on_cluster }} TO {{ db }}.traffic_changed AS
SELECT site_id, toDate(timestamp) AS day, max(now64(6)) AS changed
FROM {{ db }}.events
WHERE type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll')
GROUP BY site_id, day;
