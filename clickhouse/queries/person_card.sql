-- A person's card over their actors (`actors`, migration 0019 actor_cards): events by name, pages,
-- orders per currency, groups and aliases, each map merged across the actors.
SELECT
    sumMap(name_times) AS name_times,
    minMap(name_first) AS name_first,
    maxMap(name_last) AS name_last,
    sumMap(page_views) AS page_views,
    maxMap(page_last) AS page_last,
    sumMap(order_count) AS order_count,
    sumMap(order_revenue) AS order_revenue,
    minMap(order_first) AS order_first,
    maxMap(order_last) AS order_last,
    arraySort(groupUniqArrayArray(groups)) AS groups,
    arraySort(groupUniqArrayArray(aliases)) AS aliases
FROM
{% if raw %}
(
    SELECT
        actor_key,
        sumMap([if(type = 'track', name, concat('$', type))], [toUInt64(1)]) AS name_times,
        minMap([if(type = 'track', name, concat('$', type))], [toUnixTimestamp64Milli(timestamp)]) AS name_first,
        maxMap([if(type = 'track', name, concat('$', type))], [toUnixTimestamp64Milli(timestamp)]) AS name_last,
        sumMap(if(pageview_, [page_key], []), if(pageview_, [toUInt64(1)], [])) AS page_views,
        maxMap(if(pageview_, [page_key], []), if(pageview_, [toUnixTimestamp64Milli(timestamp)], [])) AS page_last,
        sumMap(if(order_, [currency_], []), if(order_, [toUInt64(1)], [])) AS order_count,
        sumMap(if(order_, [currency_], []), if(order_, [JSONExtractFloat(properties, 'revenue')], [])) AS order_revenue,
        minMap(if(order_, [currency_], []), if(order_, [toUnixTimestamp64Milli(timestamp)], [])) AS order_first,
        maxMap(if(order_, [currency_], []), if(order_, [toUnixTimestamp64Milli(timestamp)], [])) AS order_last,
        groupUniqArrayIf(group_id, type = 'group') AS groups,
        groupUniqArrayIf(previous_id, type = 'alias') AS aliases
    FROM
    (
        SELECT *, type NOT IN ('rageclick', 'deadclick') AND JSONHas(properties, 'revenue') AS order_,
            JSONExtractString(properties, 'currency') AS currency_, type = 'pageview' AND page_key != '' AS pageview_
        FROM {% include "_actor_events.sql" %}
        WHERE actor_key IN {actors:Array(UInt64)} AND type NOT IN ('click', 'move', 'scroll')
    )
    GROUP BY actor_key
)
{% else %}
{{ db }}.actor_cards
WHERE site_id = {site:UInt32} AND actor_key IN {actors:Array(UInt64)}
{% endif %}
