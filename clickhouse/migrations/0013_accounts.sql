-- Dashboard accounts (collector/accounts). Each table keeps one row per version; the newest
-- `updated_at` wins (read with FINAL). Passwords are kept only as argon2id hashes; session ids and share
-- link passwords likewise never as sent: a session is looked up by the SHA-256 of its id.

-- People who log in to the dashboard. A password change or removal moves `sessions_after`, which ends
-- every session opened before it.
CREATE TABLE IF NOT EXISTS {{ db }}.users {{ on_cluster }}
(
    email String,
    password_hash String,
    sessions_after DateTime64(3, 'UTC'),
    deleted Bool,
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY email;

-- Which sites a user sees, and as what: viewer (reads) or admin (also shares and settings).
CREATE TABLE IF NOT EXISTS {{ db }}.user_sites {{ on_cluster }}
(
    email String,
    site_id UInt32,
    role LowCardinality(String),
    deleted Bool,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (email, site_id);

-- Logged-in sessions, by the SHA-256 of the id in the cookie; logging out revokes the row. Rows go a
-- day after they expire.
CREATE TABLE IF NOT EXISTS {{ db }}.dashboard_sessions {{ on_cluster }}
(
    id_sha256 String,
    email String,
    created_at DateTime64(3, 'UTC'),
    expires_at DateTime64(3, 'UTC'),
    revoked Bool,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY id_sha256
TTL toDateTime(expires_at) + INTERVAL 1 DAY DELETE;

-- Share links: read-only views of one site's chosen reports, revocable, optionally behind a password.
CREATE TABLE IF NOT EXISTS {{ db }}.share_links {{ on_cluster }}
(
    slug String,
    site_id UInt32,
    label String,
    reports Array(String),
    password_hash String,
    created_by String,
    created_at DateTime64(3, 'UTC'),
    revoked Bool,
    updated_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY slug;

-- Secrets every collector on the store shares (the key that signs dashboard cookies). If two collectors
-- race to create one, each takes the oldest row, so they agree.
CREATE TABLE IF NOT EXISTS {{ db }}.secrets {{ on_cluster }}
(
    name String,
    value String,
    created_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (name, created_at);
