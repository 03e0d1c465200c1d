{#- Shared by retention, cohorts and segment, after _ids.sql: `people`, one row per person, built in
    a single pass over visitor days (or, raw, over events), grouped by the person's hash: `cohort`
    (the period of their first `cohort_event`, or first activity), `back` (the periods in which they
    did `return_event`, or anything), `activity` (period, events, revenue) and first-touch `country`, `device`, `utm_source` (those of their first event ever).
    Reads rows up to {until} + {horizon_days}. Switches: `activity` (cohorts), `filtered` (a
    country / device / utm_source filter is set). -#}
people AS
(
    SELECT
        if(ids.pk != 0, ids.pk, cityHash64(d.actor)) AS person_key,
        any(if(ids.uid != '', ids.uid, d.actor)) AS person,
{% if raw %}
        countIf({cohort_event:String} = '' OR d.name = {cohort_event:String}) AS qualifies,
        minIf(d.period, {cohort_event:String} = '' OR d.name = {cohort_event:String}) AS cohort,
        groupUniqArrayIf(d.period, {return_event:String} = '' OR d.name = {return_event:String}) AS back,
        minIf(d.day, d.name = {cohort_event:String}) AS first_did,
        groupUniqArrayIf(d.day, d.name = {return_event:String}) AS did_days,
{% if activity %}
        groupArray((d.period, 1, d.revenue)) AS activity,
{% endif %}
{% if filtered %}
        argMin(d.country_, d.timestamp) AS country,
        argMin(d.device_, d.timestamp) AS device,
        argMin(d.utm_source_, d.timestamp) AS utm_source,
{% endif %}
        min(d.timestamp) AS first_seen
    FROM
    (
        SELECT
            if(anonymous_id != '', anonymous_id, user_id) AS actor,
            toDate(timestamp) AS day,
            multiIf({period:String} = 'week', toMonday(day), {period:String} = 'month', toStartOfMonth(day), day) AS period,
            if(type = 'track', name, concat('$', type)) AS name,
            timestamp,
            toString(country) AS country_,
            toString(device) AS device_,
            toString(utm_source) AS utm_source_,
            JSONExtractFloat(properties, 'revenue') AS revenue
        FROM {{ db }}.events
        WHERE site_id = {site:UInt32} AND (anonymous_id != '' OR user_id != '')
          AND type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll')
          AND toDate(timestamp) <= {until:Date} + toIntervalDay({horizon_days:UInt32})
    ) AS d
{% else %}
        countIf({cohort_event:String} = '' OR has(d.events, {cohort_event:String})) AS qualifies,
        minIf(d.period, {cohort_event:String} = '' OR has(d.events, {cohort_event:String})) AS cohort,
        groupUniqArrayIf(d.period, {return_event:String} = '' OR has(d.events, {return_event:String})) AS back,
        minIf(d.day, has(d.events, {cohort_event:String})) AS first_did,
        groupUniqArrayIf(d.day, has(d.events, {return_event:String})) AS did_days,
{% if activity %}
        groupArray((d.period, d.event_count, d.revenue)) AS activity,
{% endif %}
{% if filtered %}
        argMinMerge(d.country) AS country,
        argMinMerge(d.device) AS device,
        argMinMerge(d.utm_source) AS utm_source,
{% endif %}
        min(d.day) AS first_seen
    FROM
    (
        SELECT *, multiIf({period:String} = 'week', toMonday(day), {period:String} = 'month', toStartOfMonth(day), day) AS period
        FROM {{ db }}.visitor_days
        WHERE site_id = {site:UInt32} AND day <= {until:Date} + toIntervalDay({horizon_days:UInt32})
    ) AS d
{% endif %}
    LEFT JOIN ids ON cityHash64(d.actor) = ids.k
    GROUP BY person_key
    HAVING qualifies > 0
{% if filtered %}
       AND ({country:String} = '' OR country = {country:String})
       AND ({device:String} = '' OR device = {device:String})
       AND ({utm_source:String} = '' OR utm_source = {utm_source:String})
{% endif %}
)
