-- One dashboard user with the sites they see (collector/accounts/users.py).
SELECT u.email AS email, u.password_hash AS password_hash, toUnixTimestamp64Milli(u.sessions_after) AS sessions_after_ms,
    arrayFilter(g -> g.2 != '', groupArray((g.site_id, g.role))) AS grants
FROM (SELECT * FROM {{ db }}.users FINAL WHERE {% if one %}email = {email:String} AND {% endif %}NOT deleted) AS u
LEFT JOIN (SELECT email, site_id, role FROM {{ db }}.user_sites FINAL WHERE NOT deleted) AS g ON g.email = u.email
GROUP BY email, password_hash, sessions_after_ms
ORDER BY email;
