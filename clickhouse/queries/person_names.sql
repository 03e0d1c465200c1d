-- A person's events by name ("$pageview", "signup", "$rageclick"): how often, first and last time.
SELECT name, toUInt64(sum(times)) AS times, toUnixTimestamp64Milli(min(first_at)) AS first_ms,
    toUnixTimestamp64Milli(max(last_at)) AS last_ms
FROM
{% if raw %}
(
    SELECT if(type = 'track', name, concat('$', type)) AS name, 1 AS times, timestamp AS first_at, timestamp AS last_at
    FROM {% include "_actor_events.sql" %}
    WHERE actor_key IN {actors:Array(UInt64)} AND type NOT IN ('click', 'move', 'scroll')
)
{% else %}
{{ db }}.actor_names
WHERE site_id = {site:UInt32} AND actor_key IN {actors:Array(UInt64)}
{% endif %}
GROUP BY name
ORDER BY times DESC, name;
