{#- Shared by retention, cohorts, segment and funnel: `ids` (anonymous id -> the user it was identified
    as) and `person_days` (one row per person and day: the events done, how many, revenue, and the
    day's first event's country, device and utm_source). Rows reach to {until} + {horizon_days}. -#}
ids AS
(
{% if raw %}
    SELECT anonymous_id, argMax(user_id, timestamp) AS uid
    FROM {{ db }}.events
    WHERE site_id = {site:UInt32} AND anonymous_id != '' AND user_id != ''
    GROUP BY anonymous_id
{% else %}
    SELECT anonymous_id, argMaxMerge(user_id) AS uid
    FROM {{ db }}.identities
    WHERE site_id = {site:UInt32}
    GROUP BY anonymous_id
{% endif %}
),
person_days AS
(
    SELECT
        if(ids.uid != '', ids.uid, d.actor) AS person,
        d.day AS day,
{% if raw %}
        groupUniqArray(d.name) AS names,
        count() AS event_count,
        sum(d.revenue_) AS revenue,
        argMin(d.country_, d.timestamp) AS country,
        argMin(d.device_, d.timestamp) AS device,
        argMin(d.utm_source_, d.timestamp) AS utm_source
    FROM
    (
        SELECT
            if(anonymous_id != '', anonymous_id, user_id) AS actor,
            toDate(timestamp) AS day,
            if(type = 'track', name, concat('$', type)) AS name,
            timestamp,
            toString(country) AS country_,
            toString(device) AS device_,
            toString(utm_source) AS utm_source_,
            JSONExtractFloat(properties, 'revenue') AS revenue_
        FROM {{ db }}.events
        WHERE site_id = {site:UInt32} AND (anonymous_id != '' OR user_id != '')
          AND type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll')
          AND toDate(timestamp) <= {until:Date} + toIntervalDay({horizon_days:UInt32})
    ) AS d
{% else %}
        groupUniqArrayArray(d.events) AS names,
        sum(d.event_count) AS event_count,
        sum(d.revenue) AS revenue,
        argMinMerge(d.country) AS country,
        argMinMerge(d.device) AS device,
        argMinMerge(d.utm_source) AS utm_source
    FROM {{ db }}.visitor_days AS d
{% endif %}
    LEFT JOIN ids ON d.actor = ids.anonymous_id
{% if not raw %}
    WHERE d.site_id = {site:UInt32} AND d.day <= {until:Date} + toIntervalDay({horizon_days:UInt32})
{% endif %}
    GROUP BY person, day
)
