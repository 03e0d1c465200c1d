{#- Rows of older rolls of one site's days {days}: those before {before}, the roll that the last one
    replaced, kept for an answer that picked it just before (traffic_clean.sql, then traffic.sql).
    Reports never read them: they take each day's last roll only. -#}
ALTER TABLE {{ db }}.traffic_days DELETE
WHERE site_id = {site:UInt32} AND has({days:Array(Date)}, day) AND rolled_at < fromUnixTimestamp64Micro({before:Int64}, 'UTC')
