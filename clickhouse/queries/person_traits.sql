-- A person's traits (scope 'user', subjects [their key]) or their groups' (scope 'group', the groups'
-- ids), each with the time it was set: _traits.sql.
WITH {% include "_traits.sql" %}
SELECT subject, key, value, set_ms
FROM traits
ORDER BY subject, key
