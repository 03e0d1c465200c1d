-- GET /api/v1/people: people as retention, segments and funnels count them (_ids.sql: an anonymous id
-- is the user its latest identify named), with first and last activity, events, and orders and revenue
-- in one currency; filtered, sorted by `sort` (a column name chosen by collector/people/listing.py),
-- then by person key, a page at a time after the cursor (keyset). Each actor's facts (activity, orders
-- in the currency, whether it did `did` / `not_did` since `did_since_ms`) arrive as one stream, joined
-- to identities once and grouped by person once (rows that are not activity carry first 2^62 and last
-- -2^62 ms, which min and max pass over). Switches: `order` (ASC / DESC), `trait_filters` (how
-- many trait.<key> filters: trait_key_N / trait_value_N, '*' for any value), `did`, `not_did`,
-- `cursor`, `scope` (for _traits.sql), `raw`.
WITH
{% include "_ids.sql" %}
{% for i in range(trait_filters) %}
{% set cte = "trait_" ~ i %}
{% set subject_filter = "key = {trait_key_" ~ i ~ ":String}" %}
, {% include "_traits.sql" %}
{% endfor %}
SELECT p.person AS person, p.user_id AS user_id, p.first_ms AS first_ms, p.last_ms AS last_ms, p.events AS events,
    p.orders AS orders, p.revenue AS revenue, toFloat64({{ sort }}) AS sort_value, p.person_key AS person_key
FROM
(
    SELECT
        if(ids.pk != 0, ids.pk, f.actor_key) AS person_key,
        argMax(if(ids.uid != '', ids.uid, f.actor), f.events > 0) AS person,
        max(if(ids.uid != '', ids.uid, if(f.named, f.actor, ''))) AS user_id,
        min(f.first_ms) AS first_ms,
        max(f.last_ms) AS last_ms,
        toUInt64(sum(f.events)) AS events,
        toUInt64(sum(f.orders)) AS orders,
        sum(f.revenue) AS revenue,
        max(f.did) AS did_,
        max(f.not_did) AS not_did_
    FROM
    (
{% if raw %}
        SELECT actor_key, any(actor) AS actor, max(anonymous_id = '') AS named,
            toUnixTimestamp64Milli(min(timestamp)) AS first_ms, toUnixTimestamp64Milli(max(timestamp)) AS last_ms,
            count() AS events, 0 AS orders, toFloat64(0) AS revenue, 0 AS did, 0 AS not_did
        FROM {% include "_actor_events.sql" %}
        WHERE type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll')
        GROUP BY actor_key
        UNION ALL
        SELECT actor_key, '', 0, 4611686018427387904, -4611686018427387904, 0, 1, JSONExtractFloat(properties, 'revenue'), 0, 0
        FROM {% include "_actor_events.sql" %}
        WHERE type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll') AND JSONHas(properties, 'revenue')
          AND JSONExtractString(properties, 'currency') = {currency:String}
{% for which in (['did'] if did else []) + (['not_did'] if not_did else []) %}
        UNION ALL
        SELECT actor_key, '', 0, 4611686018427387904, -4611686018427387904, 0, 0, 0, {{ 1 if which == 'did' else 0 }}, {{ 1 if which == 'not_did' else 0 }}
        FROM {% include "_actor_events.sql" %}
        WHERE type NOT IN ('click', 'move', 'scroll') AND if(type = 'track', name, concat('$', type)) = {{ '{' ~ which ~ '_name:String}' }}
          AND toUnixTimestamp64Milli(timestamp) >= {did_since_ms:Int64}
{% endfor %}
{% else %}
        SELECT actor_key, any(actor) AS actor, max(named) AS named, toUnixTimestamp64Milli(min(first_seen)) AS first_ms,
            toUnixTimestamp64Milli(max(last_seen)) AS last_ms, sum(events) AS events, 0 AS orders,
            toFloat64(0) AS revenue, 0 AS did, 0 AS not_did
        FROM {{ db }}.actor_profiles
        WHERE site_id = {site:UInt32}
        GROUP BY actor_key
        UNION ALL
        SELECT actor_key, '', 0, 4611686018427387904, -4611686018427387904, 0, orders, revenue, 0, 0
        FROM {{ db }}.actor_orders
        WHERE site_id = {site:UInt32} AND currency = {currency:String}
{% for which in (['did'] if did else []) + (['not_did'] if not_did else []) %}
        UNION ALL
        SELECT actor_key, '', 0, 4611686018427387904, -4611686018427387904, 0, 0, 0, {{ 1 if which == 'did' else 0 }}, {{ 1 if which == 'not_did' else 0 }}
        FROM {{ db }}.actor_names
        WHERE site_id = {site:UInt32} AND name = {{ '{' ~ which ~ '_name:String}' }}
        GROUP BY actor_key
        HAVING toUnixTimestamp64Milli(max(last_at)) >= {did_since_ms:Int64}
{% endfor %}
{% endif %}
    ) AS f
    LEFT JOIN ids ON f.actor_key = ids.k
    GROUP BY person_key
    HAVING events > 0
{% if did %}
       AND did_ = 1
{% endif %}
{% if not_did %}
       AND not_did_ = 0
{% endif %}
) AS p
WHERE p.last_ms >= {seen_after_ms:Int64} AND p.last_ms < {seen_before_ms:Int64}
  AND p.revenue >= {min_revenue:Float64} AND p.revenue <= {max_revenue:Float64}
{% for i in range(trait_filters) %}
  AND p.person_key IN (
      SELECT subject_key FROM trait_{{ i }}
      WHERE {trait_value_{{ i }}:String} = '*' OR value = {trait_value_{{ i }}:String} OR value = toJSONString({trait_value_{{ i }}:String})
  )
{% endfor %}
{% if cursor %}
  AND (sort_value, p.person_key) {{ '<' if order == 'DESC' else '>' }} ({after_value:Float64}, {after_key:UInt64})
{% endif %}
ORDER BY sort_value {{ order }}, p.person_key {{ order }}
LIMIT {limit:UInt32};
