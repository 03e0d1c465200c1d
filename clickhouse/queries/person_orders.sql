-- A person's orders per currency (never summed across currencies): count, revenue, first and last.
SELECT currency, toUInt64(sum(orders)) AS orders, sum(revenue) AS revenue,
    toUnixTimestamp64Milli(min(first_at)) AS first_ms, toUnixTimestamp64Milli(max(last_at)) AS last_ms
FROM
{% if raw %}
(
    SELECT JSONExtractString(properties, 'currency') AS currency, 1 AS orders,
        JSONExtractFloat(properties, 'revenue') AS revenue, timestamp AS first_at, timestamp AS last_at
    FROM {% include "_actor_events.sql" %}
    WHERE actor_key IN {actors:Array(UInt64)} AND type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll')
      AND JSONHas(properties, 'revenue')
)
{% else %}
{{ db }}.actor_orders
WHERE site_id = {site:UInt32} AND actor_key IN {actors:Array(UInt64)}
{% endif %}
GROUP BY currency
ORDER BY currency;
