{#- The roll of one site's closed days {days} into traffic_days (migration 0014; collector/reports/
    traffic_days.py): the days' sessions (traffic_sessions FINAL) counted by (day, kind, value) as
    traffic.sql counts them, visitors as uniqCombined(12) states, every row stamped {at}. Kinds: `overview` (value
    ''), `hour` (the bucket of the hour the session started in), `entry_page`, `exit_page`, the session
    dimensions of the session's first event, `page` (a page it viewed; pageviews of that page), `event`
    (an event name it did; events of that name), `revenue` (a currency; revenue and orders). -#}
{% set dims = ['referrer', 'utm_source', 'utm_medium', 'utm_campaign', 'country', 'device', 'browser', 'os'] %}
INSERT INTO {{ db }}.traffic_days
    (site_id, day, kind, value, rolled_at, visitors, sessions, pageviews, events, bounces, duration_ms, revenue, orders)
SETTINGS insert_deduplicate = 0
WITH sessions AS
(
    SELECT
        day, toUInt64(visitor) AS visitor_id, events, pageviews, pages, names, revenue, started,
        toUInt64(events = 1 AND pageviews = 1) AS bounced,
        toUInt64(toUnixTimestamp64Milli(ended) - toUnixTimestamp64Milli(started)) AS duration_ms,
        splitByChar('\0', substring(head, 21)) AS attrs,
        if(entry = '~', '', substring(entry, 21)) AS entry_page,
        substring(exit, 21) AS exit_page
    FROM {{ db }}.traffic_sessions FINAL
    WHERE site_id = {site:UInt32} AND has({days:Array(Date)}, day)
)
SELECT
    {site:UInt32}, day, kind, value, fromUnixTimestamp64Micro({at:Int64}, 'UTC'), uniqCombinedState(12)(visitor_id), count(), sum(pv), sum(ev), sum(bounced),
    sum(duration_ms), toFloat64(0), toUInt64(0)
FROM sessions
ARRAY JOIN
    arrayConcat(
        ['overview', 'hour', 'entry_page', 'exit_page'{% for d in dims %}, '{{ d }}'{% endfor %}],
        arrayWithConstant(length(pages.1), 'page'),
        arrayWithConstant(length(names.1), 'event')
    ) AS kind,
    arrayConcat(
        ['', formatDateTime(toStartOfHour(started), '%Y-%m-%dT%H:00:00Z'), entry_page, exit_page{% for d in dims %}, attrs[{{ loop.index }}]{% endfor %}],
        pages.1,
        names.1
    ) AS value,
    arrayConcat(arrayWithConstant({{ 4 + dims | length }}, pageviews), pages.2, arrayWithConstant(length(names.1), toUInt64(0))) AS pv,
    arrayConcat(arrayWithConstant({{ 4 + dims | length }}, events), arrayWithConstant(length(pages.1), toUInt64(0)), names.2) AS ev
GROUP BY day, kind, value
UNION ALL
SELECT
    {site:UInt32}, day, 'revenue', currency, fromUnixTimestamp64Micro({at:Int64}, 'UTC'), uniqCombinedState(12)(visitor_id), count(), toUInt64(0), toUInt64(0),
    toUInt64(0), toUInt64(0), sum(amount), sum(n)
FROM sessions
ARRAY JOIN revenue.1 AS currency, revenue.2 AS amount, revenue.3 AS n
GROUP BY day, currency
