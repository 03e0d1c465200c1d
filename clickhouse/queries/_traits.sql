{#- `traits`: (subject_key, subject, key, value, set_ms) for the `scope` ('user' or 'group', a switch)
    subjects that `subject_filter` keeps (a condition on subject_key or key written by the calling code, never a
    request's text), resolved by event time (docs/people.md): the latest set or unset wins, and a
    set-once applies only while the trait has no value (the earliest one after the latest unset, or
    ever). Ties in one millisecond go by event id, then set < once < unset. `value` is JSON text; traits
    with no value are left out. The ops come from trait_ops or, raw, from the identify and group events. -#}
{{ cte | default("traits") }} AS
(
    SELECT subject_key, subject, key, tupleElement(won_, 4) AS value, toUnixTimestamp64Milli(tupleElement(won_, 1)) AS set_ms
    FROM
    (
        SELECT subject_key, any(subject) AS subject, key,
            arraySort(groupArray((ts, event_id, op, value))) AS ops_,
            arrayLastIndex(o -> tupleElement(o, 3) != 'once', ops_) AS last_,
            if(last_ > 0 AND tupleElement(ops_[last_], 3) = 'set', ops_[last_],
                arrayFirst((o, i) -> i > last_ AND tupleElement(o, 3) = 'once', ops_, arrayEnumerate(ops_))) AS won_
        FROM
{% if raw %}
        (
            SELECT
                cityHash64(if(type = 'identify', user_id, group_id)) AS subject_key,
                if(type = 'identify', user_id, group_id) AS subject,
                tupleElement(op_, 1) AS key, timestamp AS ts, event_id,
                CAST(tupleElement(op_, 2), 'Enum8(\'set\' = 1, \'once\' = 2, \'unset\' = 3)') AS op,
                tupleElement(op_, 3) AS value
            FROM {{ db }}.events
            ARRAY JOIN arrayConcat(
                arrayMap(kv -> (kv.1, 'set', kv.2), JSONExtractKeysAndValuesRaw(traits)),
                arrayMap(kv -> (kv.1, 'once', kv.2), JSONExtractKeysAndValuesRaw(traits_once)),
                arrayMap(k -> (k, 'unset', ''), traits_unset)
            ) AS op_
            WHERE site_id = {site:UInt32} AND type = '{{ 'identify' if scope == 'user' else 'group' }}'
              AND if(type = 'identify', user_id, group_id) != '' AND {{ subject_filter }}
        )
{% else %}
        {{ db }}.trait_ops
        WHERE site_id = {site:UInt32} AND scope = '{{ scope }}' AND {{ subject_filter }}
{% endif %}
        GROUP BY subject_key, key
    )
    WHERE value != ''
)
