{#- The fast path of _people.sql (no attribute filter, no activity), after _ids.sql: one row per person
    from `actor_days`, reading only the rows of `cohort_name` and `return_name` ('*': any event;
    '': none). Same columns: cohort, back, first_did, did_days. -#}
people AS
(
    SELECT
        person,
        multiIf({period:String} = 'week', toMonday(first_day_), {period:String} = 'month', toStartOfMonth(first_day_), first_day_) AS cohort,
        arrayDistinct(arrayMap(
            d -> multiIf({period:String} = 'week', toMonday(d), {period:String} = 'month', toStartOfMonth(d), d), r_days
        )) AS back,
        first_day_ AS first_did,
        r_days AS did_days
    FROM
    (
        SELECT
            cityHash64(if(ids.uid != '', ids.uid, a.actor)) AS person_key,
            any(if(ids.uid != '', ids.uid, a.actor)) AS person,
            arrayMin(groupUniqArrayArrayIf(a.days, a.name = {cohort_name:String})) AS first_day_,
            groupUniqArrayArrayIf(a.days, a.name = {return_name:String}) AS r_days,
            countIf(a.name = {cohort_name:String}) AS qualifies
        FROM
        (
{% if raw %}
            SELECT event_name AS name, if(anonymous_id != '', anonymous_id, user_id) AS actor, [toDate(timestamp)] AS days
            FROM {{ db }}.events
            ARRAY JOIN [if(type = 'track', events.name, concat('$', type)), '*'] AS event_name
            WHERE site_id = {site:UInt32} AND (anonymous_id != '' OR user_id != '')
              AND type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll')
{% else %}
            SELECT name, actor, days
            FROM {{ db }}.actor_days
            WHERE site_id = {site:UInt32}
{% endif %}
        ) AS a
        LEFT JOIN ids ON cityHash64(a.actor) = ids.k
        WHERE a.name IN ({cohort_name:String}, {return_name:String})
        GROUP BY person_key
        HAVING qualifies > 0
    )
)
