-- GET /api/v1/retention: people by cohort (the period of their first qualifying event, or of their
-- first visit) and by how many periods later they came back (did the return event, or anything).
-- A person is the user id an anonymous id was identified as, else the anonymous id (else the user
-- id of a server-side event): days before `identify` belong to the same person.
WITH
{% include "_person_days.sql" %},
{% include "_cohorts.sql" %},
returns AS
(
    SELECT DISTINCT person, period
    FROM periods
    WHERE {return_event:String} = '' OR has(names, {return_event:String})
)
SELECT toString(c.cohort) AS cohort, -1 AS offset, count() AS people
FROM cohorts AS c
GROUP BY c.cohort
UNION ALL
SELECT toString(c.cohort) AS cohort, toInt32(dateDiff({period:String}, c.cohort, r.period)) AS offset, count() AS people
FROM cohorts AS c
INNER JOIN returns AS r ON r.person = c.person
WHERE r.period >= c.cohort AND dateDiff({period:String}, c.cohort, r.period) <= {periods:UInt32}
GROUP BY c.cohort, offset
ORDER BY cohort, offset;
