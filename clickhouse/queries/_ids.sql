{#- `ids`: which user each anonymous id was identified as (the latest user id seen with it; a tie in the
    same millisecond goes to the higher 20 bits of the user id's hash), by the anonymous id's cityHash64
    `k`: the person key `pk` (cityHash64 of the user id) and the user id `uid`. Joins and groups on
    UInt64 keys run about twice as fast as on strings. -#}
ids AS
(
{% if raw %}
    SELECT cityHash64(anonymous_id) AS k, argMax(cityHash64(user_id), v) AS pk, argMax(user_id, v) AS uid
    FROM
    (
        SELECT anonymous_id, user_id,
            toUInt64(toUnixTimestamp64Milli(timestamp)) * 1048576 + cityHash64(user_id) % 1048576 AS v
        FROM {{ db }}.events
        WHERE site_id = {site:UInt32} AND anonymous_id != '' AND user_id != ''
    )
    GROUP BY anonymous_id
{% else %}
    SELECT anon_key AS k, person_key AS pk, user_id AS uid
    FROM {{ db }}.identity_links FINAL
    WHERE site_id = {site:UInt32}
{% endif %}
)
