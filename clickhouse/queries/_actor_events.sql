{#- The raw scans of the people queries (raw=True): the site's events with their actor's key, as
    migration 0019 keys its tables. -#}
(
    SELECT *, cityHash64(if(anonymous_id != '', anonymous_id, user_id)) AS actor_key,
        if(anonymous_id != '', anonymous_id, user_id) AS actor
    FROM {{ db }}.events
    WHERE site_id = {site:UInt32} AND (anonymous_id != '' OR user_id != '')
)
