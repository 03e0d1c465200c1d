-- GET /api/v1/heatmap: hits (and, with the `visitors` switch, distinct visitors) per tile of one page,
-- at the asked resolution. x_pct: the tile's left edge in % of the document width; y_px: its top edge in
-- document pixels (viewport pixels for fixed elements). The raw variant computes the same from `events`.
SELECT
    fixed,
    intDiv(tile_x, {step_x:UInt8}) * {step_x:UInt8} AS x_pct,
    intDiv(tile_y * 10, {step_y:UInt32}) * {step_y:UInt32} AS y_px,
{% if raw %}
    sum(n) AS hits{% if visitors %},
    uniqExact(visitor) AS visitors{% endif %}

FROM
(
    SELECT
        fixed,
        toUInt8(least(intDiv(if(type = 'move', tupleElement(point, 1), x) * 100, greatest(if(fixed, viewport_w, doc_w), 1)), 99)) AS tile_x,
        toUInt32(intDiv(if(type = 'move', tupleElement(point, 2), y), 10)) AS tile_y,
        if(type = 'move', tupleElement(point, 3), 1) AS n,
        cityHash64(if(anonymous_id != '', anonymous_id, visitor_key)) AS visitor
    FROM {{ db }}.events
    ARRAY JOIN if(type = 'move', points, [tuple(0, 0, 1)]) AS point
    WHERE site_id = {site:UInt32} AND page_key = {page:String} AND type = {kind:String}
      AND toDate(timestamp) BETWEEN {since:Date} AND {until:Date}
      AND ({width:UInt16} = 0 OR width_bucket = {width:UInt16})
{% include "_heat_filters.sql" %}
)
{% else %}
    sum(page_tiles.hits) AS hits{% if visitors %},
    uniqExactMerge(page_tiles.visitors) AS visitors{% endif %}

FROM {{ db }}.page_tiles
WHERE site_id = {site:UInt32} AND page_hash = cityHash64({page:String}) AND kind = {kind:String}
  AND day BETWEEN {since:Date} AND {until:Date}
  AND ({width:UInt16} = 0 OR width_bucket = {width:UInt16})
{% endif %}
GROUP BY fixed, x_pct, y_px
ORDER BY fixed, y_px, x_pct;
