-- Person profiles (GET /api/v1/people, collector/people, docs/people.md). Every table here is keyed by
-- the actor (the anonymous id, else the user id: cityHash64 as in 0009), so a profile reads the rows of
-- its few actors by primary key, and identify stays a join at read time (identity_links): one person for
-- profiles, retention, segments and funnels, and an identify in the middle of a history moves it all.
-- Activity is what retention counts: every type but clicks, moves and scrolls; rage and dead clicks are
-- counted by name beside the events. Filled from `events` like 0009 (run with the collectors stopped).

-- Trait ops of identify and group events, set / set once / unset, resolved at read time by event time
-- (clickhouse/queries/_traits.sql). Values are JSON text. Keyed by subject (the user or group id).
{% set trait_ops_select %}
SELECT
    site_id,
    if(type = 'identify', 'user', 'group') AS scope,
    cityHash64(subject) AS subject_key,
    subject,
    tupleElement(op_, 1) AS key,
    timestamp AS ts,
    event_id,
    tupleElement(op_, 2) AS op,
    tupleElement(op_, 3) AS value
FROM
(
    -- identify and group events first: the JSON is read for them only
    SELECT site_id, type, if(type = 'identify', user_id, group_id) AS subject, timestamp, event_id, traits,
        traits_once, traits_unset
    FROM {{ db }}.events
    WHERE type IN ('identify', 'group') AND if(type = 'identify', user_id, group_id) != ''
)
ARRAY JOIN arrayConcat(
    arrayMap(kv -> (kv.1, 'set', kv.2), JSONExtractKeysAndValuesRaw(traits)),
    arrayMap(kv -> (kv.1, 'once', kv.2), JSONExtractKeysAndValuesRaw(traits_once)),
    arrayMap(k -> (k, 'unset', ''), traits_unset)
) AS op_
{% endset %}
CREATE TABLE IF NOT EXISTS {{ db }}.trait_ops {{ on_cluster }}
(
    site_id UInt32,
    scope LowCardinality(String),
    subject_key UInt64,
    subject String,
    key String,
    ts DateTime64(3, 'UTC'),
    event_id UUID,
    op Enum8('set' = 1, 'once' = 2, 'unset' = 3),
    value String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree
ORDER BY (site_id, scope, subject_key, key, ts, event_id, op)
SETTINGS non_replicated_deduplication_window = 10000;

TRUNCATE TABLE IF EXISTS {{ db }}.trait_ops {{ on_cluster }};

INSERT INTO {{ db }}.trait_ops SETTINGS insert_deduplicate = 0
{{ trait_ops_select }};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.trait_ops_mv {{ on_cluster }} TO {{ db }}.trait_ops AS
{{ trait_ops_select }};

-- Which anonymous ids were ever seen with a user id, by the user's key: the way from a person to their
-- actors. A link that identify later moved to another user stays here; readers confirm each one
-- against identity_links (the latest link wins there).
{% set person_links_select %}
SELECT DISTINCT site_id, cityHash64(user_id) AS person_key, cityHash64(anonymous_id) AS anon_key, anonymous_id
FROM {{ db }}.events
WHERE anonymous_id != '' AND user_id != ''
{% endset %}
CREATE TABLE IF NOT EXISTS {{ db }}.person_links {{ on_cluster }}
(
    site_id UInt32,
    person_key UInt64,
    anon_key UInt64,
    anonymous_id String
)
ENGINE = ReplacingMergeTree
ORDER BY (site_id, person_key, anon_key)
SETTINGS non_replicated_deduplication_window = 10000;

TRUNCATE TABLE IF EXISTS {{ db }}.person_links {{ on_cluster }};

INSERT INTO {{ db }}.person_links SETTINGS insert_deduplicate = 0
{{ person_links_select }};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.person_links_mv {{ on_cluster }} TO {{ db }}.person_links AS
{{ person_links_select }};

-- One row per actor: whether it is a user id (`named`: it has events without an anonymous id), first
-- and last activity (exact), activity count, active days, sessions, the first event's touch (referrer,
-- campaign, place, device, page) and the last event's consent. The touch and the consent are min / max
-- of tuples led by (time, event id): cheaper than argMin states, and the same in every merge order. At
-- one time, an event with a page comes first: a backend's page and identify calls share a millisecond.
{% set actor_profiles_select %}
SELECT
    site_id,
    cityHash64(if(anonymous_id != '', anonymous_id, user_id)) AS actor_key,
    any(if(anonymous_id != '', anonymous_id, user_id)) AS actor,
    max(anonymous_id = '') AS named,
    min(timestamp) AS first_seen,
    max(timestamp) AS last_seen,
    count() AS events,
    groupUniqArray(toDate(timestamp)) AS days,
    uniqExactStateIf(cityHash64(session_id), session_id != '') AS sessions,
    min((timestamp, page_key = '', event_id, toString(referrer_host), toString(utm_source), toString(utm_medium),
        toString(utm_campaign), toString(country), toString(device), toString(browser), toString(os), page_key)) AS first_touch,
    max((timestamp, event_id, consent_analytics, consent_heatmaps, consent_marketing)) AS last_consent
FROM {{ db }}.events
WHERE (anonymous_id != '' OR user_id != '') AND type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll')
GROUP BY site_id, actor_key
{% endset %}
CREATE TABLE IF NOT EXISTS {{ db }}.actor_profiles {{ on_cluster }}
(
    site_id UInt32,
    actor_key UInt64,
    actor SimpleAggregateFunction(any, String),
    named SimpleAggregateFunction(max, Bool),
    first_seen SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    events SimpleAggregateFunction(sum, UInt64),
    days SimpleAggregateFunction(groupUniqArrayArray, Array(Date)),
    sessions AggregateFunction(uniqExact, UInt64),
    first_touch SimpleAggregateFunction(min, Tuple(DateTime64(3, 'UTC'), Bool, UUID, String, String, String, String, String, String, String, String, String)),
    last_consent SimpleAggregateFunction(max, Tuple(DateTime64(3, 'UTC'), UUID, Bool, Bool, Bool))
)
ENGINE = AggregatingMergeTree
ORDER BY (site_id, actor_key)
SETTINGS non_replicated_deduplication_window = 10000;

TRUNCATE TABLE IF EXISTS {{ db }}.actor_profiles {{ on_cluster }};

INSERT INTO {{ db }}.actor_profiles SETTINGS insert_deduplicate = 0
{{ actor_profiles_select }};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.actor_profiles_mv {{ on_cluster }} TO {{ db }}.actor_profiles AS
{{ actor_profiles_select }};

-- Per actor and event name ("$pageview", "signup", "$rageclick", ...): how often, first and last time
-- (the people list's did / did not filters).
{% set actor_names_select %}
SELECT
    site_id,
    cityHash64(if(anonymous_id != '', anonymous_id, user_id)) AS actor_key,
    if(type = 'track', name, concat('$', type)) AS name,
    count() AS times,
    min(timestamp) AS first_at,
    max(timestamp) AS last_at
FROM {{ db }}.events
WHERE (anonymous_id != '' OR user_id != '') AND type NOT IN ('click', 'move', 'scroll')
GROUP BY site_id, actor_key, name
{% endset %}
CREATE TABLE IF NOT EXISTS {{ db }}.actor_names {{ on_cluster }}
(
    site_id UInt32,
    actor_key UInt64,
    name String,
    times SimpleAggregateFunction(sum, UInt64),
    first_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_at SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (site_id, actor_key, name)
SETTINGS non_replicated_deduplication_window = 10000;

TRUNCATE TABLE IF EXISTS {{ db }}.actor_names {{ on_cluster }};

INSERT INTO {{ db }}.actor_names SETTINGS insert_deduplicate = 0
{{ actor_names_select }};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.actor_names_mv {{ on_cluster }} TO {{ db }}.actor_names AS
{{ actor_names_select }};

-- Per actor, what a profile shows beside the activity, in one row so that a profile reads it at once:
-- events by name ("$pageview", "signup", "$rageclick", ...) with their count and first and last time
-- (ms), pageviews per page key with the last one, orders and revenue per currency with the first and
-- last order, and the groups and aliases the actor named. Maps are (keys, values) merged by key.
-- Small granules: one actor's row is read with 1,023 others, not 8,191 (a profile's card: 17 -> 8 ms).
{% set actor_cards_select %}
SELECT
    site_id,
    cityHash64(if(anonymous_id != '', anonymous_id, user_id)) AS actor_key,
    sumMap([if(type = 'track', name, concat('$', type))], [toUInt64(1)]) AS name_times,
    minMap([if(type = 'track', name, concat('$', type))], [toUnixTimestamp64Milli(timestamp)]) AS name_first,
    maxMap([if(type = 'track', name, concat('$', type))], [toUnixTimestamp64Milli(timestamp)]) AS name_last,
    sumMap(if(type = 'pageview' AND page_key != '', [page_key], []), if(type = 'pageview' AND page_key != '', [toUInt64(1)], [])) AS page_views,
    maxMap(if(type = 'pageview' AND page_key != '', [page_key], []), if(type = 'pageview' AND page_key != '', [toUnixTimestamp64Milli(timestamp)], [])) AS page_last,
    sumMap(if(order_, [currency_], []), if(order_, [toUInt64(1)], [])) AS order_count,
    sumMap(if(order_, [currency_], []), if(order_, [JSONExtractFloat(properties, 'revenue')], [])) AS order_revenue,
    minMap(if(order_, [currency_], []), if(order_, [toUnixTimestamp64Milli(timestamp)], [])) AS order_first,
    maxMap(if(order_, [currency_], []), if(order_, [toUnixTimestamp64Milli(timestamp)], [])) AS order_last,
    groupUniqArrayIf(group_id, type = 'group') AS groups,
    groupUniqArrayIf(previous_id, type = 'alias') AS aliases
FROM
(
    SELECT *, type NOT IN ('rageclick', 'deadclick') AND JSONHas(properties, 'revenue') AS order_,
        JSONExtractString(properties, 'currency') AS currency_
    FROM {{ db }}.events
    WHERE (anonymous_id != '' OR user_id != '') AND type NOT IN ('click', 'move', 'scroll')
)
GROUP BY site_id, actor_key
{% endset %}
CREATE TABLE IF NOT EXISTS {{ db }}.actor_cards {{ on_cluster }}
(
    site_id UInt32,
    actor_key UInt64,
    name_times SimpleAggregateFunction(sumMap, Tuple(Array(String), Array(UInt64))),
    name_first SimpleAggregateFunction(minMap, Tuple(Array(String), Array(Int64))),
    name_last SimpleAggregateFunction(maxMap, Tuple(Array(String), Array(Int64))),
    page_views SimpleAggregateFunction(sumMap, Tuple(Array(String), Array(UInt64))),
    page_last SimpleAggregateFunction(maxMap, Tuple(Array(String), Array(Int64))),
    order_count SimpleAggregateFunction(sumMap, Tuple(Array(String), Array(UInt64))),
    order_revenue SimpleAggregateFunction(sumMap, Tuple(Array(String), Array(Float64))),
    order_first SimpleAggregateFunction(minMap, Tuple(Array(String), Array(Int64))),
    order_last SimpleAggregateFunction(maxMap, Tuple(Array(String), Array(Int64))),
    groups SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    aliases SimpleAggregateFunction(groupUniqArrayArray, Array(String))
)
ENGINE = AggregatingMergeTree
ORDER BY (site_id, actor_key)
SETTINGS non_replicated_deduplication_window = 10000, index_granularity = 1024;

TRUNCATE TABLE IF EXISTS {{ db }}.actor_cards {{ on_cluster }};

INSERT INTO {{ db }}.actor_cards SETTINGS insert_deduplicate = 0
{{ actor_cards_select }};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.actor_cards_mv {{ on_cluster }} TO {{ db }}.actor_cards AS
{{ actor_cards_select }};

-- Per actor and currency: orders (events with a `revenue` property, as the traffic reports count them;
-- collector/people/intake.py puts the site's own names there), revenue, first and last order.
{% set actor_orders_select %}
SELECT
    site_id,
    cityHash64(if(anonymous_id != '', anonymous_id, user_id)) AS actor_key,
    JSONExtractString(properties, 'currency') AS currency,
    count() AS orders,
    sum(JSONExtractFloat(properties, 'revenue')) AS revenue,
    min(timestamp) AS first_at,
    max(timestamp) AS last_at
FROM {{ db }}.events
WHERE (anonymous_id != '' OR user_id != '') AND type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll')
  AND JSONHas(properties, 'revenue')
GROUP BY site_id, actor_key, currency
{% endset %}
CREATE TABLE IF NOT EXISTS {{ db }}.actor_orders {{ on_cluster }}
(
    site_id UInt32,
    actor_key UInt64,
    currency String,
    orders SimpleAggregateFunction(sum, UInt64),
    revenue SimpleAggregateFunction(sum, Float64),
    first_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    last_at SimpleAggregateFunction(max, DateTime64(3, 'UTC'))
)
ENGINE = AggregatingMergeTree
ORDER BY (site_id, actor_key, currency)
SETTINGS non_replicated_deduplication_window = 10000;

TRUNCATE TABLE IF EXISTS {{ db }}.actor_orders {{ on_cluster }};

INSERT INTO {{ db }}.actor_orders SETTINGS insert_deduplicate = 0
{{ actor_orders_select }};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.actor_orders_mv {{ on_cluster }} TO {{ db }}.actor_orders AS
{{ actor_orders_select }};

-- A person's timeline: their events (rage and dead clicks included) in time order, by actor, with what a
-- timeline shows. `other_id` is a group's id or an alias's previous id. Kept as long as the events.
-- Small granules: a page of one person's events reads 1,024 rows a part, not 8,192 (~30% faster).
{% set actor_timeline_select %}
SELECT
    site_id,
    cityHash64(if(anonymous_id != '', anonymous_id, user_id)) AS actor_key,
    timestamp,
    event_id,
    type,
    name,
    user_id,
    session_id,
    if(type = 'group', group_id, previous_id) AS other_id,
    page_key,
    selector,
    properties,
    retention_days
FROM {{ db }}.events
WHERE (anonymous_id != '' OR user_id != '') AND type NOT IN ('click', 'move', 'scroll')
{% endset %}
CREATE TABLE IF NOT EXISTS {{ db }}.actor_timeline {{ on_cluster }}
(
    site_id UInt32,
    actor_key UInt64,
    timestamp DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    event_id UUID,
    type LowCardinality(String),
    name LowCardinality(String),
    user_id String,
    session_id String,
    other_id String,
    page_key String CODEC(ZSTD(3)),
    selector String CODEC(ZSTD(3)),
    properties String CODEC(ZSTD(3)),
    retention_days UInt16
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (site_id, actor_key, timestamp, event_id)
TTL toDateTime(timestamp) + toIntervalDay(retention_days)
SETTINGS non_replicated_deduplication_window = 10000, index_granularity = 1024;

TRUNCATE TABLE IF EXISTS {{ db }}.actor_timeline {{ on_cluster }};

INSERT INTO {{ db }}.actor_timeline SETTINGS insert_deduplicate = 0
{{ actor_timeline_select }};

CREATE MATERIALIZED VIEW IF NOT EXISTS {{ db }}.actor_timeline_mv {{ on_cluster }} TO {{ db }}.actor_timeline AS
{{ actor_timeline_select }};
