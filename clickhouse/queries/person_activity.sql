-- A person's activity over their actors (`actors`): first and last seen, events, active days, sessions,
-- the first event's touch and the last event's consent (migration 0019, actor_profiles).
SELECT
    toUInt64(sum(events)) AS events,
    max(named) AS named,
    toUnixTimestamp64Milli(min(first_seen)) AS first_ms,
    toUnixTimestamp64Milli(max(last_seen)) AS last_ms,
    arraySort(groupUniqArrayArray(days)) AS days,
    uniqExactMerge(sessions) AS sessions,
    min(first_touch) AS first_touch,
    max(last_consent) AS last_consent
FROM
{% if raw %}
(
    SELECT
        actor_key,
        max(anonymous_id = '') AS named,
        min(timestamp) AS first_seen,
        max(timestamp) AS last_seen,
        count() AS events,
        groupUniqArray(toDate(timestamp)) AS days,
        uniqExactStateIf(cityHash64(session_id), session_id != '') AS sessions,
        min((timestamp, page_key = '', event_id, toString(referrer_host), toString(utm_source), toString(utm_medium),
            toString(utm_campaign), toString(country), toString(device), toString(browser), toString(os), page_key)) AS first_touch,
        max((timestamp, event_id, consent_analytics, consent_heatmaps, consent_marketing)) AS last_consent
    FROM {% include "_actor_events.sql" %}
    WHERE actor_key IN {actors:Array(UInt64)} AND type NOT IN ('click', 'rageclick', 'deadclick', 'move', 'scroll')
    GROUP BY actor_key
)
{% else %}
{{ db }}.actor_profiles
WHERE site_id = {site:UInt32} AND actor_key IN {actors:Array(UInt64)}
{% endif %}
