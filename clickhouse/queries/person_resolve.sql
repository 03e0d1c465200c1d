-- GET /api/v1/people/{id}: the person an id names. An anonymous id identified as a user is that user
-- (its latest link, as retention counts it: _ids.sql); any other id is a person of its own key. The
-- second row is the fallback: linked = 0.
{% if raw %}
WITH {% include "_ids.sql" %}
SELECT 1 AS linked, pk AS person_key, uid AS user_id FROM ids WHERE k = cityHash64({id:String})
{% else %}
SELECT 1 AS linked, person_key, user_id
FROM {{ db }}.identity_links FINAL
WHERE site_id = {site:UInt32} AND anon_key = cityHash64({id:String})
{% endif %}
UNION ALL
SELECT 0 AS linked, cityHash64({id:String}) AS person_key, '' AS user_id;
