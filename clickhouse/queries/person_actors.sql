-- The anonymous ids of a person (`person`): those whose latest link is to them. person_links holds every
-- link ever seen, identity_links the latest one per anonymous id. The person's own key is an actor
-- too (a user's events sent without an anonymous id): collector/people/profile.py adds it.
{% if raw %}
WITH {% include "_ids.sql" %}
SELECT DISTINCT e.actor_key AS actor_key, e.actor AS actor
FROM {% include "_actor_events.sql" %} AS e
INNER JOIN ids ON e.actor_key = ids.k
WHERE ids.pk = {person:UInt64}
{% else %}
SELECT DISTINCT anon_key AS actor_key, anonymous_id AS actor
FROM {{ db }}.person_links
WHERE site_id = {site:UInt32} AND person_key = {person:UInt64}
  AND anon_key IN (
      SELECT anon_key FROM {{ db }}.identity_links FINAL
      WHERE site_id = {site:UInt32} AND person_key = {person:UInt64} AND anon_key IN (
          SELECT anon_key FROM {{ db }}.person_links WHERE site_id = {site:UInt32} AND person_key = {person:UInt64}
      )
  )
{% endif %}
ORDER BY actor;
