{#- `ids`: which user each anonymous id was identified as (the latest user id seen with it). -#}
ids AS
(
{% if raw %}
    SELECT anonymous_id, argMax(user_id, timestamp) AS uid
    FROM {{ db }}.events
    WHERE site_id = {site:UInt32} AND anonymous_id != '' AND user_id != ''
    GROUP BY anonymous_id
{% else %}
    SELECT anonymous_id, argMaxMerge(user_id) AS uid
    FROM {{ db }}.identities
    WHERE site_id = {site:UInt32}
    GROUP BY anonymous_id
{% endif %}
)
