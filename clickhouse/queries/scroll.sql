-- GET /api/v1/scroll: pageviews by the deepest point they reached, in 5% buckets (0, 5, ..., 100).
SELECT depth_bucket AS depth, sum(n) AS pageviews
FROM
{% if raw %}
(
    SELECT toUInt8(intDiv(depth, 5) * 5) AS depth_bucket, 1 AS n
    FROM {{ db }}.events
    WHERE site_id = {site:UInt32} AND type = 'scroll' AND page_key = {page:String}
      AND toDate(timestamp) BETWEEN {since:Date} AND {until:Date}
      AND ({width:UInt16} = 0 OR width_bucket = {width:UInt16})
)
{% else %}
(
    SELECT depth_bucket, pageviews AS n FROM {{ db }}.scroll_depths
    WHERE site_id = {site:UInt32} AND page_key = {page:String}
      AND day BETWEEN {since:Date} AND {until:Date}
      AND ({width:UInt16} = 0 OR width_bucket = {width:UInt16})
)
{% endif %}
GROUP BY depth
ORDER BY depth;
