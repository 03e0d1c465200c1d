-- A person's most viewed pages (page keys), with their last view.
SELECT page, toUInt64(sum(views)) AS views, toUnixTimestamp64Milli(max(last_at)) AS last_ms
FROM
{% if raw %}
(
    SELECT page_key AS page, 1 AS views, timestamp AS last_at
    FROM {% include "_actor_events.sql" %}
    WHERE actor_key IN {actors:Array(UInt64)} AND type = 'pageview' AND page_key != ''
)
{% else %}
{{ db }}.actor_pages
WHERE site_id = {site:UInt32} AND actor_key IN {actors:Array(UInt64)}
{% endif %}
GROUP BY page
ORDER BY views DESC, page
LIMIT {limit:UInt32};
