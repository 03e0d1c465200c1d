-- GET /api/v1/cohorts: per cohort (as in retention), its size, how many came back the next period,
-- and what its people did over the cohort's first `periods` periods: events and revenue.
WITH
{% include "_person_days.sql" %},
{% include "_cohorts.sql" %},
people AS
(
    SELECT
        c.person AS person,
        c.cohort AS cohort,
        sum(p.event_count) AS events,
        sum(p.revenue) AS revenue,
        max(dateDiff({period:String}, c.cohort, p.period) = 1) AS came_back
    FROM cohorts AS c
    INNER JOIN periods AS p ON p.person = c.person
    WHERE p.period >= c.cohort AND dateDiff({period:String}, c.cohort, p.period) <= {periods:UInt32}
    GROUP BY c.person, c.cohort
)
SELECT toString(cohort) AS cohort, count() AS size, sum(came_back) AS came_back, sum(events) AS events,
       sum(revenue) AS revenue
FROM people
GROUP BY cohort
ORDER BY cohort;
