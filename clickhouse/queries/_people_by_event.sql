{#- The fast path of _people.sql (no attribute filter, no activity), after _ids.sql: one row per person
    from `actor_events`, reading only the rows of `cohort_name` and `return_name` ('*': any event;
    '': none). Same columns: person, cohort, back, first_did, did_days. Switch: `periods`, the
    stored column of the asked period (days, weeks or months). -#}
people AS
(
    SELECT
        person,
        multiIf({period:String} = 'week', toMonday(first_did), {period:String} = 'month', toStartOfMonth(first_did), first_did) AS cohort,
        arrayDistinct(back_) AS back,
        first_did,
        did_days
    FROM
    (
        SELECT
            if(ids.pk != 0, ids.pk, a.actor_key) AS person_key,
            any(if(ids.uid != '', ids.uid, a.actor)) AS person,
            minIf(a.first_day, a.name = {cohort_name:String}) AS first_did,
            groupArrayArrayIf(a.{{ periods }}, a.name = {return_name:String}) AS back_,
            arrayDistinct(groupArrayArrayIf(a.days, a.name = {return_name:String})) AS did_days,
            countIf(a.name = {cohort_name:String}) AS qualifies
        FROM
        (
{% if raw %}
            SELECT
                event_name AS name,
                cityHash64(if(anonymous_id != '', anonymous_id, user_id)) AS actor_key,
                if(anonymous_id != '', anonymous_id, user_id) AS actor,
                toDate(timestamp) AS first_day,
                [first_day] AS days,
                [toMonday(first_day)] AS weeks,
                [toStartOfMonth(first_day)] AS months
            FROM {{ db }}.events
            ARRAY JOIN [if(type = 'track', events.name, concat('$', type)), '*'] AS event_name
            WHERE site_id = {site:UInt32} AND (anonymous_id != '' OR user_id != '')
              AND type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll')
              AND event_name IN ({cohort_name:String}, {return_name:String})
{% else %}
            SELECT name, actor_key, actor, first_day, days, {{ periods }}
            FROM {{ db }}.actor_events
            WHERE site_id = {site:UInt32} AND name IN ({cohort_name:String}, {return_name:String})
{% endif %}
        ) AS a
        LEFT JOIN ids ON a.actor_key = ids.k
        GROUP BY person_key
        HAVING qualifies > 0
    )
)
