-- GET /api/v1/events: the newest events of one site ("did my event arrive?").
SELECT event_id AS id, * EXCEPT (site_id, retention_days, event_id)
FROM {{ db }}.events
WHERE site_id = {site_id:UInt32}
  AND ({type:String} = '' OR type = {type:String})
ORDER BY timestamp DESC, received_at DESC
LIMIT {limit:UInt32};
