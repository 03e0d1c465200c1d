-- GET /api/v1/people/{id} after person_resolve / person_actors: the whole profile in one statement,
-- its parts side by side, each a query file of its own (also run alone), as rows tagged by `part`:
-- activity, card (events by name, pages, orders, groups, aliases), event (the timeline's first page)
-- and trait (the user's). `a` and `b` carry a part's other columns. Groups' traits are asked after,
-- for the few people in a group (person_traits).
SELECT 'activity' AS part, '' AS key, events AS n, toFloat64(0) AS amount, first_ms, last_ms,
    toJSONString((named, days, sessions, first_touch, last_consent)) AS a, '' AS b
FROM ({% include "person_activity.sql" %})
UNION ALL
SELECT 'card', '', 0, 0, 0, 0,
    toJSONString((name_times, name_first, name_last, page_views, page_last, order_count, order_revenue, order_first,
        order_last, groups, aliases)), ''
FROM ({% include "person_card.sql" %})
UNION ALL
SELECT 'event', id, rowNumberInAllBlocks(), 0, 0, at_ms, toJSONString((type, name, user_id, session_id, other_id, page, selector)), properties
FROM ({% include "person_timeline.sql" %})
UNION ALL
{% with scope = "user", subject_filter = "subject_key IN {users:Array(UInt64)}" %}
SELECT 'trait', key, 0, 0, 0, set_ms, value, subject FROM ({% include "person_traits.sql" %})
{% endwith %}
