-- GET /api/v1/heatmap/layers: the average fold (viewport height of the pageviews that scrolled) and how
-- deep each pageview went, in 5% buckets; the raw variant takes a segment.
{% if raw %}
SELECT toUInt8(intDiv(depth, 5) * 5) AS depth, count() AS pageviews, sum(toUInt64(viewport_h)) AS viewport_h_sum
FROM {{ db }}.events
WHERE site_id = {site:UInt32} AND type = 'scroll' AND page_key = {page:String}
  AND toDate(timestamp) BETWEEN {since:Date} AND {until:Date} AND width_bucket = {width:UInt16}
{% include "_heat_filters.sql" %}
GROUP BY depth
{% else %}
SELECT toUInt8(0) AS depth, sum(pageviews) AS pageviews, sum(viewport_h_sum) AS viewport_h_sum
FROM {{ db }}.scroll_folds
WHERE site_id = {site:UInt32} AND page_hash = cityHash64({page:String})
  AND day BETWEEN {since:Date} AND {until:Date} AND width_bucket = {width:UInt16}
{% endif %}
ORDER BY depth;
