-- GET /api/v1/segment: people who did one event (first time in range) and not another within N days
-- after it ("signed up, no purchase within 7 days"), with the day they did the first; paginated.
WITH
{% include "_person_days.sql" %},
did AS
(
    SELECT person, min(day) AS first_day, argMin(country, day) AS c_country, argMin(device, day) AS c_device,
           argMin(utm_source, day) AS c_utm_source
    FROM person_days
    WHERE has(names, {did:String})
    GROUP BY person
    HAVING first_day BETWEEN {since:Date} AND {until:Date}
       AND ({country:String} = '' OR c_country = {country:String})
       AND ({device:String} = '' OR c_device = {device:String})
       AND ({utm_source:String} = '' OR c_utm_source = {utm_source:String})
),
later AS
(
    SELECT person, groupArray(day) AS days
    FROM person_days
    WHERE {not_did:String} != '' AND has(names, {not_did:String})
    GROUP BY person
)
SELECT d.person AS person, toString(d.first_day) AS first_day, count() OVER () AS total
FROM did AS d
LEFT JOIN later AS l ON l.person = d.person
WHERE NOT arrayExists(x -> x >= d.first_day AND x <= d.first_day + toIntervalDay({within_days:UInt32}), l.days)
ORDER BY first_day, person
LIMIT {limit:UInt32} OFFSET {offset:UInt32};
