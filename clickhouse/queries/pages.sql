-- GET /api/v1/pages: pageviews and visitors per page.
SELECT page_key AS page, count() AS pageviews, uniqExact(if(anonymous_id != '', anonymous_id, visitor_key)) AS visitors
FROM {{ db }}.events
WHERE site_id = {site:UInt32} AND type = 'pageview' AND toDate(timestamp) BETWEEN {since:Date} AND {until:Date}
GROUP BY page
ORDER BY pageviews DESC, page
LIMIT {limit:UInt32};
