{#- Shared by retention and cohorts (after _person_days.sql): `periods` (person days with their period)
    and `cohorts` (each person's first period with the cohort event, or with anything, in range and
    matching the filters, with that period's first day's attributes). -#}
periods AS
(
    SELECT
        person,
        day,
        multiIf({period:String} = 'week', toMonday(day), {period:String} = 'month', toStartOfMonth(day), day) AS period,
        names,
        event_count,
        revenue,
        country,
        device,
        utm_source
    FROM person_days
),
cohorts AS
(
    SELECT person, min(period) AS cohort, argMin(country, day) AS c_country, argMin(device, day) AS c_device,
           argMin(utm_source, day) AS c_utm_source
    FROM periods
    WHERE {cohort_event:String} = '' OR has(names, {cohort_event:String})
    GROUP BY person
    HAVING cohort BETWEEN {since:Date} AND {until:Date}
       AND ({country:String} = '' OR c_country = {country:String})
       AND ({device:String} = '' OR c_device = {device:String})
       AND ({utm_source:String} = '' OR c_utm_source = {utm_source:String})
)
