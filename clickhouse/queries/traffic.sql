{#- GET /api/v1/overview, timeseries, breakdown, event-names, revenue, and traffic.panels(): the kept
    sessions of [{first}, {until}] (traffic_sessions FINAL, migration 0011; raw: the same sessions made
    from `events`), counted by (kind, value). Kinds: `overview` (value ''), `timeseries` (value: the
    bucket), one per session dimension (value: the session's), `page` (value: a page the session viewed;
    pageviews of that page), `event` (value: an event name it did; events of that name), all over the
    range; `overview_previous` over [{first}, {since}); `revenue` / `revenue_previous` (value: a currency).
    Switches: which kinds (`overview`, `previous`, `timeseries` = '', 'hour', 'day' or 'week', `dims` =
    session dimensions joined by ',', `pages`, `events`, `revenue`) and which filters are set
    (`filters`: names joined by ','; each keeps the sessions whose attribute is {f_<name>}, or that
    viewed the page / did the event). Top {top} rows per kind, except timeseries buckets (all of them).
    `rolled` (unfiltered only): the days {clean} from traffic_days (their roll's rows, {stamps}; migration
    0014) and only the days {open} from the sessions; `sessions`: whether any day is read from them.
    Visitors: uniqCombined(12) states, merged per (kind, value). Sessions are exploded by ARRAY JOIN of parallel arrays (kind codes, values, pageviews, events): arrays
    of tuples built with lambdas cost seconds per million sessions. -#}
{% set dims = dims.split(',') if dims else [] %}
{% set filters = filters.split(',') if filters else [] %}
{% set head = {'referrer': 1, 'utm_source': 2, 'utm_medium': 3, 'utm_campaign': 4, 'country': 5, 'device': 6, 'browser': 7, 'os': 8} %}
{% set kinds = ['overview', 'timeseries', 'page', 'event', 'entry_page', 'exit_page', 'referrer', 'utm_source', 'utm_medium',
                'utm_campaign', 'country', 'device', 'browser', 'os', 'overview_previous', 'revenue', 'revenue_previous'] %}
{% macro codes(list) %}CAST([{{ list | join(', ') }}], 'Array(UInt8)'){% endmacro %}
{% set rolled_kinds = (['overview'] if overview or previous or timeseries in ('day', 'week') else []) + (['hour'] if timeseries == 'hour' else [])
                      + dims + (['page'] if pages else []) + (['event'] if events else []) + (['revenue'] if revenue else []) %}
{% set order %}leftPad(toString(toUInt64(toUnixTimestamp64Milli(timestamp)) * 1048576 + cityHash64(event_id) % 1048576), 20, '0'){% endset %}
WITH sessions AS
(
    SELECT
        day, toUInt64(visitor) AS visitor_id, events, pageviews, pages, names, revenue, started,
        toUInt64(events = 1 AND pageviews = 1) AS bounced,
        toUInt64(toUnixTimestamp64Milli(ended) - toUnixTimestamp64Milli(started)) AS duration_ms,
        splitByChar('\0', substring(head, 21)) AS attrs,
        if(entry = '~', '', substring(entry, 21)) AS entry_page,
        substring(exit, 21) AS exit_page
    FROM
{% if raw %}
    (
        SELECT
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
        WHERE site_id = {site:UInt32} AND toDate(timestamp) BETWEEN {first:Date} AND {until:Date}
          AND type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll')
        GROUP BY day, session_key
    )
{% else %}
    {{ db }}.traffic_sessions FINAL
    WHERE site_id = {site:UInt32} AND day BETWEEN {first:Date} AND {until:Date}
{% if rolled %}
      AND day IN (SELECT arrayJoin({open:Array(Date)}))  -- the days not rolled (traffic_clean.sql)
{% endif %}
{% endif %}
    HAVING 1
{% for name in filters %}
{% if name in head %}
       AND attrs[{{ head[name] }}] = {f_{{ name }}:String}
{% elif name in ('entry_page', 'exit_page') %}
       AND {{ name }} = {f_{{ name }}:String}
{% elif name == 'page' %}
       AND has(pages.1, {f_page:String})
{% elif name == 'event' %}
       AND has(names.1, {f_event:String})
{% endif %}
{% endfor %}
)
SELECT [{% for k in kinds %}'{{ k }}'{{ ', ' if not loop.last }}{% endfor %}][code + 1] AS kind, value, n_visitors AS visitors, n_sessions AS sessions, n_pageviews AS pageviews,
    n_events AS events, n_bounces AS bounces, n_duration_ms AS duration_ms, n_revenue AS revenue, n_orders AS orders
FROM
(
    SELECT
        code, value, uniqCombinedMerge(12)(v) AS n_visitors, sum(s) AS n_sessions, sum(p) AS n_pageviews, sum(e) AS n_events,
        sum(b) AS n_bounces, sum(d) AS n_duration_ms, sum(r) AS n_revenue, sum(o) AS n_orders
    FROM
    (
{% if rolled %}
        SELECT
            code,
            if(kind = 'overview' AND code = 1, {{ 'toString(toMonday(day))' if timeseries == 'week' else 'toString(day)' }}, days.value) AS value,
            visitors AS v, sessions AS s, pageviews AS p, events AS e, bounces AS b, duration_ms AS d, revenue AS r, orders AS o
        FROM {{ db }}.traffic_days AS days
        ARRAY JOIN
            multiIf(
                kind = 'overview', if(day < {since:Date}, {{ codes([14] if previous else []) }}, {{ codes(([0] if overview else []) + ([1] if timeseries in ('day', 'week') else [])) }}),
                kind = 'revenue', if(day < {since:Date}, [toUInt8(16)], [toUInt8(15)]),
                day < {since:Date}, {{ codes([]) }},
                kind = 'hour', [toUInt8(1)],
                [toUInt8(indexOf([{% for k in kinds %}'{{ k }}'{{ ', ' if not loop.last }}{% endfor %}], kind) - 1)]
            ) AS code
        WHERE site_id = {site:UInt32} AND day BETWEEN {first:Date} AND {until:Date}
          AND has({clean:Array(Date)}, day)  -- and their last roll's rows (traffic_clean.sql)
          AND toUnixTimestamp64Micro(rolled_at) = {stamps:Array(Int64)}[indexOf({clean:Array(Date)}, day)]
          AND (day >= {since:Date} OR kind IN ('overview', 'revenue'))
          AND kind IN ({% for k in rolled_kinds %}'{{ k }}'{{ ', ' if not loop.last }}{% endfor %})
{% endif %}
{% if sessions %}
{% if rolled %}
        UNION ALL
{% endif %}
        SELECT
            code,
            value,
            uniqCombinedState(12)(visitor_id) AS v,
            count() AS s,
            sum(pv) AS p,
            sum(ev) AS e,
            sum(bounced) AS b,
            sum(duration_ms) AS d,
            toFloat64(0) AS r,
            toUInt64(0) AS o
        FROM sessions
        ARRAY JOIN
            arrayConcat(
                [{{ '0, ' if overview }}{{ '1, ' if timeseries }}{% for d in dims %}{{ kinds.index(d) }}, {% endfor %}255],
                {{ 'arrayWithConstant(length(pages.1), 2),' if pages }}
                {{ 'arrayWithConstant(length(names.1), 3),' if events }}
                CAST([], 'Array(UInt8)')
            ) AS code,
            arrayConcat(
                [
{% if overview %}
                    '',
{% endif %}
{% if timeseries == 'hour' %}
                    formatDateTime(toStartOfHour(started), '%Y-%m-%dT%H:00:00Z'),
{% elif timeseries == 'week' %}
                    toString(toMonday(day)),
{% elif timeseries == 'day' %}
                    toString(day),
{% endif %}
{% for d in dims %}
                    {{ d if d in ('entry_page', 'exit_page') else 'attrs[' ~ head[d] ~ ']' }},
{% endfor %}
                    ''
                ],
                {{ 'pages.1,' if pages }}
                {{ 'names.1,' if events }}
                CAST([], 'Array(String)')
            ) AS value,
            arrayConcat(
                arrayWithConstant({{ (1 if overview else 0) + (1 if timeseries else 0) + dims | length + 1 }}, pageviews),
                {{ 'pages.2,' if pages }}
                {{ 'arrayWithConstant(length(names.1), toUInt64(0)),' if events }}
                CAST([], 'Array(UInt64)')
            ) AS pv,
            arrayConcat(
                arrayWithConstant({{ (1 if overview else 0) + (1 if timeseries else 0) + dims | length + 1 }}, events),
                {{ 'arrayWithConstant(length(pages.1), toUInt64(0)),' if pages }}
                {{ 'names.2,' if events }}
                CAST([], 'Array(UInt64)')
            ) AS ev
        WHERE day >= {since:Date} AND code != 255
        GROUP BY code, value
{% if previous %}
        UNION ALL
        SELECT
            toUInt8(14) AS code, '' AS value, uniqCombinedState(12)(visitor_id), count(), sum(pageviews), sum(events), sum(bounced),
            sum(duration_ms), toFloat64(0), toUInt64(0)
        FROM sessions
        WHERE day < {since:Date}
{% endif %}
{% if revenue %}
        UNION ALL
        SELECT
            if(day >= {since:Date}, 15, 16) AS code, currency AS value, uniqCombinedState(12)(visitor_id), count(), toUInt64(0),
            toUInt64(0), toUInt64(0), toUInt64(0), sum(amount), sum(n)
        FROM sessions
        ARRAY JOIN revenue.1 AS currency, revenue.2 AS amount, revenue.3 AS n
        GROUP BY code, value
{% endif %}
{% endif %}
    )
    GROUP BY code, value
    ORDER BY code, if(code = 3, n_events, n_visitors) DESC, value
    LIMIT {top:UInt32} BY code, if(code = 1 OR code >= 14, value, '')
)
ORDER BY code, multiIf(code >= 15, n_revenue, code = 3, toFloat64(n_events), toFloat64(n_visitors)) DESC, value
