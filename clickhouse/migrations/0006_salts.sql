-- Daily salts for the cookieless visitor key. One row per UTC day; if two collectors race to create a
-- day's salt, every collector takes the oldest row (argMin), so they agree. Rows expire after two days:
-- once a day's salt is gone, that day's visitor keys can no longer be linked to anyone.
CREATE TABLE IF NOT EXISTS {{ db }}.salts {{ on_cluster }}
(
    day Date,
    salt String,
    created_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (day, created_at)
TTL day + INTERVAL 2 DAY DELETE;
