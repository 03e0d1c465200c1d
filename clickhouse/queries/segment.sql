-- GET /api/v1/segment: people who did `cohort_event` (the first time, in range) and did not do
-- `return_event` within `within_days` days after it ("signed up, no purchase within 7 days"), with the
-- day they first did it; paginated. reports.segment passes did / not_did under those names.
WITH
{% include "_ids.sql" %},
{% include "_people.sql" if filtered else "_people_by_event.sql" %}
SELECT person, toString(first_did) AS first_day, count() OVER () AS total
FROM people
WHERE first_did BETWEEN {since:Date} AND {until:Date}
  AND NOT arrayExists(x -> x >= first_did AND x <= first_did + toIntervalDay({within_days:UInt32}), did_days)
ORDER BY first_did, person
LIMIT {limit:UInt32} OFFSET {offset:UInt32};
