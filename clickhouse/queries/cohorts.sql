-- GET /api/v1/cohorts: per cohort (as in retention), its size, how many were active the next period,
-- and what its people did over those of the cohort's first `periods` periods that are over (before
-- `current`, the period of the app's today): events and revenue.
WITH
{% include "_ids.sql" %},
{% include "_people.sql" %}
SELECT
    toString(cohort) AS cohort_start,
    count() AS size,
    countIf(has(back, multiIf({period:String} = 'week', cohort + toIntervalWeek(1),
                              {period:String} = 'month', cohort + toIntervalMonth(1), cohort + toIntervalDay(1)))) AS came_back,
    sum(arraySum(a -> if(a.1 >= cohort AND a.1 < {current:Date} AND dateDiff({period:String}, cohort, a.1) <= {periods:UInt32}, a.2, 0), activity)) AS events,
    sum(arraySum(a -> if(a.1 >= cohort AND a.1 < {current:Date} AND dateDiff({period:String}, cohort, a.1) <= {periods:UInt32}, a.3, 0), activity)) AS revenue
FROM people
WHERE cohort BETWEEN {since:Date} AND {until:Date}
GROUP BY cohort
ORDER BY cohort;
