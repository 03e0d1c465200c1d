-- One snapshot by id, with its HTML (collector/heatmaps/snapshots.py).
SELECT snapshot_id, page_key, width_bucket, toUnixTimestamp64Milli(captured_at) AS captured_ms,
       viewport_w, viewport_h, doc_w, doc_h, bytes, sig, html
FROM {{ db }}.snapshots
WHERE site_id = {site:UInt32} AND snapshot_id = {id:String}
LIMIT 1;
