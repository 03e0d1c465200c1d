-- The currency of most of a site's orders (GET /api/v1/people without `currency`).
SELECT currency
FROM {{ db }}.actor_orders
WHERE site_id = {site:UInt32}
GROUP BY currency
ORDER BY sum(orders) DESC, currency
LIMIT 1
