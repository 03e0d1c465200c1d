-- GET /api/v1/retention: people by cohort (the period of their first `cohort_event`, or of their first
-- visit) and by how many periods later they came back (did `return_event`, or anything). offset -1 is
-- the cohort's size. One pass over the people (clickhouse/queries/_people.sql): no join of cohorts
-- to activity.
WITH
{% include "_ids.sql" %},
{% include "_people.sql" if filtered else "_people_by_event.sql" %}
SELECT toString(cohort) AS cohort_start, offset, count() AS people
FROM people
ARRAY JOIN arrayConcat([-1], arrayFilter(k -> k >= 0 AND k <= {periods:UInt32},
    arrayMap(p -> toInt32(dateDiff({period:String}, cohort, p)), back))) AS offset
WHERE cohort BETWEEN {since:Date} AND {until:Date}
GROUP BY cohort, offset
ORDER BY cohort, offset;
