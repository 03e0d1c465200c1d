-- A person's events, newest first, a page at a time: those before the cursor (`before_ms`, `before_id`
-- the first page passes the largest time). Clicks, moves and scrolls are left out (heatmaps show them).
-- A copy of an event sent again after the writer's window is read once (LIMIT 1 BY: cheaper than FINAL).
SELECT toString(event_id) AS id, toUnixTimestamp64Milli(timestamp) AS at_ms, type, name, user_id, session_id,
    other_id, page_key AS page, selector, properties
FROM
{% if raw %}
(
    SELECT timestamp, event_id, type, name, user_id, session_id, if(type = 'group', group_id, previous_id) AS other_id,
        page_key, selector, properties
    FROM {% include "_actor_events.sql" %}
    WHERE actor_key IN {actors:Array(UInt64)} AND type NOT IN ('click', 'move', 'scroll')
)
WHERE
{% else %}
{{ db }}.actor_timeline
WHERE site_id = {site:UInt32} AND actor_key IN {actors:Array(UInt64)} AND
{% endif %}
    (timestamp, event_id) < (fromUnixTimestamp64Milli({before_ms:Int64}, 'UTC'), toUUID({before_id:String}))
ORDER BY timestamp DESC, event_id DESC
LIMIT 1 BY event_id
LIMIT {limit:UInt32}
