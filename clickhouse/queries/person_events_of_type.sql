-- A person's events of one type (their group and alias events: few), oldest first, as timeline rows.
SELECT toString(event_id) AS id, toUnixTimestamp64Milli(timestamp) AS at_ms, type, name, user_id, session_id,
    other_id, page_key AS page, selector, properties
FROM
{% if raw %}
(
    SELECT timestamp, event_id, type, name, user_id, session_id, if(type = 'group', group_id, previous_id) AS other_id,
        page_key, selector, properties
    FROM {% include "_actor_events.sql" %}
    WHERE actor_key IN {actors:Array(UInt64)} AND type = {type:String}
)
{% else %}
{{ db }}.actor_timeline FINAL
WHERE site_id = {site:UInt32} AND actor_key IN {actors:Array(UInt64)} AND type = {type:String}
{% endif %}
ORDER BY timestamp, event_id
LIMIT 1000;
