{#- `ids`: which user each anonymous id was identified as (the latest user id seen with it), keyed by
    the id's cityHash64: joins and groups on UInt64 keys run about twice as fast as on strings. -#}
ids AS
(
{% if raw %}
    SELECT cityHash64(anonymous_id) AS k, argMax(user_id, timestamp) AS uid
    FROM {{ db }}.events
    WHERE site_id = {site:UInt32} AND anonymous_id != '' AND user_id != ''
    GROUP BY anonymous_id
{% else %}
    SELECT cityHash64(anonymous_id) AS k, argMaxMerge(user_id) AS uid
    FROM {{ db }}.identities
    WHERE site_id = {site:UInt32}
    GROUP BY anonymous_id
{% endif %}
)
