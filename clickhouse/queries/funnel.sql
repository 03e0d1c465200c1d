-- GET /api/v1/funnel: how many people did the steps in order, each within `window_s` seconds of the
-- first (windowFunnel over the raw events; people stitched as in retention). Up to 8 steps.
WITH
{% include "_ids.sql" %},
levels AS
(
    SELECT
        cityHash64(if(ids.uid != '', ids.uid, e.actor)) AS person_key,
        any(if(ids.uid != '', ids.uid, e.actor)) AS person,
        windowFunnel({window_s:UInt64})(
            e.ts,
            e.name = {steps:Array(String)}[1], e.name = {steps:Array(String)}[2], e.name = {steps:Array(String)}[3],
            e.name = {steps:Array(String)}[4], e.name = {steps:Array(String)}[5], e.name = {steps:Array(String)}[6],
            e.name = {steps:Array(String)}[7], e.name = {steps:Array(String)}[8]
        ) AS level
    FROM
    (
        SELECT if(anonymous_id != '', anonymous_id, user_id) AS actor, toDateTime(timestamp) AS ts,
               if(type = 'track', name, concat('$', type)) AS name
        FROM {{ db }}.events
        WHERE site_id = {site:UInt32} AND (anonymous_id != '' OR user_id != '')
          AND type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll')
          AND toDate(timestamp) BETWEEN {since:Date} AND {until:Date} + toIntervalDay({horizon_days:UInt32})
    ) AS e
    LEFT JOIN ids ON cityHash64(e.actor) = ids.k
    GROUP BY person_key
)
SELECT level, count() AS people
FROM levels
WHERE level > 0
GROUP BY level
ORDER BY level;
