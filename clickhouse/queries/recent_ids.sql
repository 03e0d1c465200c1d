-- The writer's window of recently stored event ids, warmed at start so a client's retry that arrives
-- right after a restart is still recognised.
SELECT toString(event_id) AS id
FROM {{ db }}.events
WHERE received_at >= now64(3) - toIntervalSecond({age_s:UInt32})
ORDER BY received_at DESC
LIMIT {limit:UInt32};
