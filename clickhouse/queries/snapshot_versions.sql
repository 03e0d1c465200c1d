-- A page's snapshots at one width bucket, newest first, without their HTML (collector/heatmaps/snapshots.py).
-- LIMIT 1 BY: a retried upload may sit twice until a merge.
SELECT snapshot_id, page_key, width_bucket, toUnixTimestamp64Milli(captured_at) AS captured_ms,
       viewport_w, viewport_h, doc_w, doc_h, bytes, sig{% if html %}, html{% endif %}

FROM {{ db }}.snapshots
WHERE site_id = {site:UInt32} AND page_key = {page:String} AND width_bucket = {width:UInt16}
ORDER BY captured_ms DESC, snapshot_id
LIMIT 1 BY snapshot_id
{% if html %}
LIMIT 1
{% endif %}
;
