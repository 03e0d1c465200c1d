-- Sites: one row per version of a site; the newest updated_at wins (read with FINAL).
-- The write key is public (it sits in the snippet); the read key is secret, so only its SHA-256 is kept.
CREATE TABLE IF NOT EXISTS {{ db }}.sites {{ on_cluster }}
(
    site_id UInt32,
    name String,
    allowed_origins Array(String),
    write_key String,
    read_key_sha256 String,
    settings String DEFAULT '{}',
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY site_id;
