-- Which of a replayed segment's events the table holds: a segment found on disk at start may have been
-- cut short by a crash inside ClickHouse's insert. Site and day narrow the read to the primary key.
SELECT DISTINCT toString(event_id) AS id
FROM {{ db }}.events
WHERE site_id IN {sites:Array(UInt32)}
  AND toDate(timestamp) IN {days:Array(Date)}
  AND event_id IN {ids:Array(UUID)};
