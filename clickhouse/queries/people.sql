-- GET /api/v1/people: people as retention, segments and funnels count them (_ids.sql: an anonymous id
-- is the user its latest identify named), with first and last activity, events, and orders and revenue
-- in one currency; filtered, sorted by `sort` (a column name chosen by collector/people/listing.py),
-- then by person key, a page at a time after the cursor (keyset). Switches: `order` (ASC / DESC),
-- `trait_filters` (how many trait.<key> filters: trait_key_N / trait_value_N, '*' for any value),
-- `did`, `not_did` (an event within the days since `did_since_ms`), `cursor`, `raw`.
WITH
{% include "_ids.sql" %},
actors AS
(
{% if raw %}
    SELECT actor_key, any(actor) AS actor, max(anonymous_id = '') AS named, min(timestamp) AS first_seen,
        max(timestamp) AS last_seen, count() AS events
    FROM {% include "_actor_events.sql" %}
    WHERE type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll')
    GROUP BY actor_key
{% else %}
    SELECT actor_key, any(actor) AS actor, max(named) AS named, min(first_seen) AS first_seen,
        max(last_seen) AS last_seen, sum(events) AS events
    FROM {{ db }}.actor_profiles
    WHERE site_id = {site:UInt32}
    GROUP BY actor_key
{% endif %}
),
people_ AS
(
    SELECT
        if(ids.pk != 0, ids.pk, a.actor_key) AS person_key,
        any(if(ids.uid != '', ids.uid, a.actor)) AS person,
        max(if(ids.uid != '', ids.uid, if(a.named, a.actor, ''))) AS user_id,
        toUnixTimestamp64Milli(min(a.first_seen)) AS first_ms,
        toUnixTimestamp64Milli(max(a.last_seen)) AS last_ms,
        toUInt64(sum(a.events)) AS events
    FROM actors AS a
    LEFT JOIN ids ON a.actor_key = ids.k
    GROUP BY person_key
),
money AS
(
    SELECT if(ids.pk != 0, ids.pk, o.actor_key) AS person_key, toUInt64(sum(o.orders)) AS orders, sum(o.revenue) AS revenue
    FROM
{% if raw %}
    (
        SELECT actor_key, 1 AS orders, JSONExtractFloat(properties, 'revenue') AS revenue
        FROM {% include "_actor_events.sql" %}
        WHERE type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll') AND JSONHas(properties, 'revenue')
          AND JSONExtractString(properties, 'currency') = {currency:String}
    ) AS o
{% else %}
    {{ db }}.actor_orders AS o
{% endif %}
    LEFT JOIN ids ON o.actor_key = ids.k
{% if not raw %}
    WHERE o.site_id = {site:UInt32} AND o.currency = {currency:String}
{% endif %}
    GROUP BY person_key
)
{% for which in (['did'] if did else []) + (['not_did'] if not_did else []) %}
, {{ which }}_ AS
(
    SELECT DISTINCT if(ids.pk != 0, ids.pk, n.actor_key) AS person_key
    FROM
{% if raw %}
    (
        SELECT actor_key, if(type = 'track', name, concat('$', type)) AS name, timestamp AS last_at
        FROM {% include "_actor_events.sql" %}
        WHERE type NOT IN ('click', 'move', 'scroll')
    ) AS n
{% else %}
    {{ db }}.actor_names AS n
{% endif %}
    LEFT JOIN ids ON n.actor_key = ids.k
    WHERE {% if not raw %}n.site_id = {site:UInt32} AND {% endif %}n.name = {{ '{' ~ which ~ '_name:String}' }}
      AND toUnixTimestamp64Milli(n.last_at) >= {did_since_ms:Int64}
)
{% endfor %}
{% for i in range(trait_filters) %}
{% set cte = "trait_" ~ i %}
{% set subject_filter = "key = {trait_key_" ~ i ~ ":String}" %}
, {% include "_traits.sql" %}
{% endfor %}
SELECT p.person AS person, p.user_id AS user_id, p.first_ms AS first_ms, p.last_ms AS last_ms, p.events AS events,
    m.orders AS orders, m.revenue AS revenue, toFloat64({{ sort }}) AS sort_value, p.person_key AS person_key
FROM people_ AS p
LEFT JOIN money AS m ON p.person_key = m.person_key
WHERE p.events > 0
  AND p.last_ms >= {seen_after_ms:Int64} AND p.last_ms < {seen_before_ms:Int64}
  AND m.revenue >= {min_revenue:Float64} AND m.revenue <= {max_revenue:Float64}
{% if did %}
  AND p.person_key IN (SELECT person_key FROM did_)
{% endif %}
{% if not_did %}
  AND p.person_key NOT IN (SELECT person_key FROM not_did_)
{% endif %}
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
