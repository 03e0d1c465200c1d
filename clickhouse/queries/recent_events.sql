-- GET /api/v1/events: the newest events of one site ("did my event arrive?"), optionally of one type,
-- one name, one person (user id or anonymous id) and a range of days.
SELECT event_id AS id, * EXCEPT (site_id, retention_days, event_id)
FROM {{ db }}.events
WHERE site_id = {site_id:UInt32}
  AND ({type:String} = '' OR type = {type:String})
  AND ({name:String} = '' OR name = {name:String})
  AND ({person:String} = '' OR user_id = {person:String} OR anonymous_id = {person:String})
  AND toDate(timestamp) BETWEEN {since:Date} AND {until:Date}
ORDER BY timestamp DESC, received_at DESC
LIMIT {limit:UInt32};
