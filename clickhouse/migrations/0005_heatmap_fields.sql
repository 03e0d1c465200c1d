-- Fields the collector derives for heatmaps and cookieless counting (collector/privacy.py):
-- page_key: host + path, lowercased and scrubbed; width_bucket: the viewport's breakpoint;
-- x_frac: x as a fraction of the document width, so clicks line up across layouts;
-- visitor_key: a keyed hash of (site, IP, user agent) under a salt that changes every UTC day;
-- age_ms: how long the client held the event before sending it (its monotonic clock).
ALTER TABLE {{ db }}.events {{ on_cluster }}
    ADD COLUMN IF NOT EXISTS page_key String CODEC(ZSTD(3)),
    ADD COLUMN IF NOT EXISTS width_bucket UInt16,
    ADD COLUMN IF NOT EXISTS x_frac Float32,
    ADD COLUMN IF NOT EXISTS visitor_key String,
    ADD COLUMN IF NOT EXISTS age_ms Nullable(UInt32);
