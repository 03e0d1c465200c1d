-- GET /api/v1/elements: the most clicked (rage-clicked, dead-clicked) elements, by selector.
SELECT selector, sum(n) AS hits, {{ "uniqExact(visitor)" if raw else "uniqExactMerge(visitors)" }} AS visitors
FROM
{% if raw %}
(
    SELECT selector, 1 AS n, cityHash64(if(anonymous_id != '', anonymous_id, visitor_key)) AS visitor
    FROM {{ db }}.events
    WHERE site_id = {site:UInt32} AND type = {kind:String} AND selector != ''
      AND ({page:String} = '' OR page_key = {page:String})
      AND toDate(timestamp) BETWEEN {since:Date} AND {until:Date}
      AND ({width:UInt16} = 0 OR width_bucket = {width:UInt16})
)
{% else %}
(
    SELECT selector, hits AS n, visitors FROM {{ db }}.element_clicks
    WHERE site_id = {site:UInt32} AND kind = {kind:String}
      AND ({page:String} = '' OR page_key = {page:String})
      AND day BETWEEN {since:Date} AND {until:Date}
      AND ({width:UInt16} = 0 OR width_bucket = {width:UInt16})
)
{% endif %}
GROUP BY selector
ORDER BY hits DESC, selector
LIMIT {limit:UInt32};
