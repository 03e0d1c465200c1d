{#- The days of [{first}, {until}] that traffic.sql reads from traffic_days (migration 0014): closed
    (before {today}) and rolled since their last events were stored; `stamp`: that roll's rolled_at
    (microseconds), whose rows count. -#}
SELECT toString(day) AS day, toUnixTimestamp64Micro(rolled) AS stamp
FROM
(
    SELECT day, max(rolled_at) AS rolled FROM {{ db }}.traffic_days
    WHERE site_id = {site:UInt32} AND kind = 'overview' AND day BETWEEN {first:Date} AND {until:Date} AND day < {today:Date}
    GROUP BY day
) AS r
LEFT JOIN
(
    SELECT day, max(changed) AS changed FROM {{ db }}.traffic_changed
    WHERE site_id = {site:UInt32} AND day BETWEEN {first:Date} AND {until:Date}
    GROUP BY day
) AS c USING (day)
WHERE rolled > changed
ORDER BY day
