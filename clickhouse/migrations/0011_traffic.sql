-- Traffic (GET /api/v1/overview, timeseries, breakdown, event-names, revenue): one row per session.
-- A session is a `session_id` within one UTC day, or, for events without one (cookieless sites,
-- server-side calls), the visitor's events of that day; a visit across midnight counts on both days,
-- so every answer reads whole days only. Heatmap types (click, rageclick, deadclick, move, scroll) are
-- not traffic. A session's visitor is the smallest cityHash64 of its visitors (it has one, in practice).
-- Its referrer (its own host counts as direct), UTM, place and agent are those of its first event,
-- and its entry and exit pages those of its first and last pageview: kept as min / max of a string
-- that starts with the event's order (20 digits: milliseconds, then 20 bits of the event id's hash, as
-- identity_links breaks ties), so every column is a plain SimpleAggregateFunction and queries read the
-- table with FINAL, which merges only the parts that overlap, instead of merging states per session
-- (argMin states of tuples cost seconds per million sessions). Pages, event names and revenue per
-- currency are sumMap tuples. Revenue: the `revenue` property (JSONExtractFloat, as cohorts count it)
-- of events that have one (orders), per `currency` property ('' without one).
-- Same insert deduplication window as `events`. The fill below empties the table first and does not
-- deduplicate, so the migration can run again from its start; run it with the collectors stopped.

{% set order %}leftPad(toString(toUInt64(toUnixTimestamp64Milli(timestamp)) * 1048576 + cityHash64(event_id) % 1048576), 20, '0'){% endset %}
{% set traffic_sessions_select %}
SELECT
    site_id,
    toDate(timestamp) AS day,
    cityHash64(if(session_id != '', session_id, concat('~', if(anonymous_id != '', anonymous_id, visitor_key)))) AS session_key,
    min(cityHash64(if(anonymous_id != '', anonymous_id, visitor_key))) AS visitor,
    min(concat({{ order }}, arrayStringConcat(arrayMap(v -> replaceAll(v, '\0', ''), [
        toString(if(referrer_host = host, '', referrer_host)), toString(utm_source), toString(utm_medium),
        toString(utm_campaign), toString(country), toString(device), toString(browser), toString(os)]), '\0'))) AS head,
    min(if(type = 'pageview', concat({{ order }}, page_key), '~')) AS entry,
    max(if(type = 'pageview', concat({{ order }}, page_key), '')) AS exit,
    min(timestamp) AS started,
    max(timestamp) AS ended,
    count() AS events,
    countIf(type = 'pageview') AS pageviews,
    sumMap(if(type = 'pageview', [page_key], []), if(type = 'pageview', [toUInt64(1)], [])) AS pages,
    sumMap([if(type = 'track', toString(name), concat('$', type))], [toUInt64(1)]) AS names,
    sumMap(
        if(JSONHas(properties, 'revenue'), [JSONExtractString(properties, 'currency')], []),
        if(JSONHas(properties, 'revenue'), [JSONExtractFloat(properties, 'revenue')], []),
        if(JSONHas(properties, 'revenue'), [toUInt64(1)], [])
    ) AS revenue
FROM {{ db }}.events
WHERE type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll')
GROUP BY site_id, day, session_key
{% endset %}
CREATE TABLE IF NOT EXISTS {{ db }}.traffic_sessions {{ on_cluster }}
(
    site_id UInt32,
    day Date,
    session_key UInt64,
    visitor SimpleAggregateFunction(min, UInt64),
    head SimpleAggregateFunction(min, String),
    entry SimpleAggregateFunction(min, String),
    exit SimpleAggregateFunction(max, String),
    started SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    ended SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    events SimpleAggregateFunction(sum, UInt64),
    pageviews SimpleAggregateFunction(sum, UInt64),
    pages SimpleAggregateFunction(sumMap, Tuple(Array(String), Array(UInt64))),
    names SimpleAggregateFunction(sumMap, Tuple(Array(String), Array(UInt64))),
    revenue SimpleAggregateFunction(sumMap, Tuple(Array(String), Array(Float64), Array(UInt64)))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (site_id, day, session_key)
SETTINGS non_replicated_deduplication_window = 10000;

TRUNCATE TABLE IF EXISTS {{ db }}.traffic_sessions {{ on_cluster }};

INSERT INTO {{ db }}.traffic_sessions SETTINGS insert_deduplicate = 0
{{ traffic_sessions_select }};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.traffic_sessions_mv {{ on_cluster }} TO {{ db }}.traffic_sessions AS
{{ traffic_sessions_select }};
