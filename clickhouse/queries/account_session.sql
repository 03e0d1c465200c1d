-- A dashboard session by the SHA-256 of its id, with its user (collector/accounts/sessions.py).
SELECT s.email AS email, toUnixTimestamp64Milli(s.created_at) AS created_ms, toUnixTimestamp64Milli(s.expires_at) AS expires_ms,
    toUnixTimestamp64Milli(u.sessions_after) AS sessions_after_ms
FROM (SELECT * FROM {{ db }}.dashboard_sessions FINAL WHERE id_sha256 = {id:String} AND NOT revoked) AS s
INNER JOIN (SELECT email, sessions_after FROM {{ db }}.users FINAL WHERE NOT deleted) AS u ON u.email = s.email;
