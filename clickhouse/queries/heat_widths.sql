-- GET /api/v1/heatmap/layers: the widths a page was seen at, with their clicks and pageviews; the raw
-- variant computes the same from `events`, and is the one that takes a segment.
{% if raw %}
SELECT width_bucket AS width, countIf(type = 'click') AS clicks, countIf(type = 'pageview') AS pageviews
FROM {{ db }}.events
WHERE site_id = {site:UInt32} AND type IN ('click', 'pageview') AND page_key = {page:String}
  AND toDate(timestamp) BETWEEN {since:Date} AND {until:Date} AND width_bucket != 0
{% include "_heat_filters.sql" %}
{% else %}
SELECT width_bucket AS width, sum(clicks) AS clicks, sum(pageviews) AS pageviews
FROM {{ db }}.page_widths
WHERE site_id = {site:UInt32} AND page_hash = cityHash64({page:String})
  AND day BETWEEN {since:Date} AND {until:Date}
{% endif %}
GROUP BY width
ORDER BY clicks + pageviews DESC, width;
