-- How many snapshots a page has at each width bucket (collector/heatmaps/snapshots.py).
SELECT width_bucket, uniqExact(snapshot_id) AS versions
FROM {{ db }}.snapshots
WHERE site_id = {site:UInt32} AND page_key = {page:String}
GROUP BY width_bucket
ORDER BY width_bucket;
