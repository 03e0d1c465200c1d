{#- The days of [{first}, {until}] with traffic (traffic_changed, migration 0014), and how traffic.sql
    reads each: `stamp` > 0 from traffic_days, the rows of that roll (its rolled_at, microseconds): the
    day is closed (before {today}) and was rolled since its last events were stored; 0 from
    traffic_sessions. Days without traffic are read from neither. -#}
SELECT toString(day) AS day, if(rolled > changed, toUnixTimestamp64Micro(rolled), 0) AS stamp
FROM
(
    SELECT day, max(changed) AS changed FROM {{ db }}.traffic_changed
    WHERE site_id = {site:UInt32} AND day BETWEEN {first:Date} AND {until:Date}
    GROUP BY day
) AS c
LEFT JOIN
(
    SELECT day, max(rolled_at) AS rolled FROM {{ db }}.traffic_days
    WHERE site_id = {site:UInt32} AND kind = 'overview' AND day BETWEEN {first:Date} AND {until:Date} AND day < {today:Date}
    GROUP BY day
) AS r USING (day)
ORDER BY day
