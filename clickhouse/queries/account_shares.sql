-- Share links (collector/accounts/shares.py): one by slug, or a site's.
SELECT slug, site_id, label, reports, password_hash, created_by, toUnixTimestamp64Milli(created_at) AS created_ms
FROM {{ db }}.share_links FINAL
WHERE NOT revoked AND {% if one %}slug = {slug:String}{% else %}site_id = {site:UInt32}{% endif %}
ORDER BY created_ms;
