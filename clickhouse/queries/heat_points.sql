-- GET /api/v1/heatmap/layers: clicks, rage clicks and dead clicks of one page and width, per (selector,
-- fixed, offset cell inside the element, tile); the raw variant computes the same from `events`, and is the
-- one that takes a segment. y_px: the tile's top edge (document px; viewport px when fixed).
SELECT kind, selector, fixed, fx, fy, tile_x, tile_y * 10 AS y_px,
{% if raw %}
    count() AS hits{% if visitors %}, uniqExact(visitor) AS visitors{% endif %}

FROM
(
    SELECT type AS kind, selector, fixed,
        toUInt8(if(el_w = 0, 50, least(greatest(intDiv(el_x * 100, toInt64(el_w)), 0), 100))) AS fx,
        toUInt8(if(el_h = 0, 50, least(greatest(intDiv(el_y * 100, toInt64(el_h)), 0), 100))) AS fy,
        toUInt8(least(intDiv(x * 100, greatest(if(fixed, viewport_w, doc_w), 1)), 99)) AS tile_x,
        toUInt32(intDiv(y, 10)) AS tile_y,
        cityHash64(if(anonymous_id != '', anonymous_id, visitor_key)) AS visitor
    FROM {{ db }}.events
    WHERE site_id = {site:UInt32} AND type IN ('click', 'rageclick', 'deadclick') AND page_key = {page:String}
      AND toDate(timestamp) BETWEEN {since:Date} AND {until:Date} AND width_bucket = {width:UInt16}
{% include "_heat_filters.sql" %}
)
{% else %}
    sum(hits) AS hits{% if visitors %}, uniqExactMerge(visitors) AS visitors{% endif %}

FROM {{ db }}.click_points
WHERE site_id = {site:UInt32} AND page_hash = cityHash64({page:String})
  AND kind IN ('click', 'rageclick', 'deadclick')
  AND day BETWEEN {since:Date} AND {until:Date} AND width_bucket = {width:UInt16}
{% endif %}
GROUP BY kind, selector, fixed, fx, fy, tile_x, tile_y
ORDER BY kind, hits DESC, selector, fixed, fx, fy, tile_x, tile_y;
