{#- The closed days (before {today}) to roll into traffic_days (migration 0014): those with events
    stored since their last roll began, or never rolled; the latest first, {limit} of them. `last_roll`:
    the day's last roll (microseconds, 0 for none), whose rows the next roll makes stale. {done}: the days
    ("<site> <day>") the caller rolled already. `now`: ClickHouse's clock (microseconds), as
    traffic_changed's. -#}
SELECT site_id, toString(day) AS day, toUnixTimestamp64Micro(rolled) AS last_roll, toUnixTimestamp64Micro(now64(6)) AS now
FROM
(
    SELECT site_id, day, max(changed) AS changed FROM {{ db }}.traffic_changed
    WHERE day < {today:Date}
    GROUP BY site_id, day
) AS c
LEFT JOIN
(
    SELECT site_id, day, max(rolled_at) AS rolled FROM {{ db }}.traffic_days
    WHERE kind = 'overview' AND day < {today:Date}
    GROUP BY site_id, day
) AS r USING (site_id, day)
WHERE changed >= rolled AND NOT has({done:Array(String)}, concat(toString(site_id), ' ', toString(day)))
ORDER BY day DESC, site_id
LIMIT {limit:UInt32}
