-- The writer inserts each spool segment with an insert_deduplication_token, so a segment replayed after
-- a crash is dropped by ClickHouse instead of stored twice. Replicated tables keep the hashes of recent
-- blocks by default; plain MergeTree tables need this window (0, off, by default).
ALTER TABLE {{ db }}.events {{ on_cluster }} MODIFY SETTING non_replicated_deduplication_window = 10000;
ALTER TABLE {{ db }}.ingest_counters {{ on_cluster }} MODIFY SETTING non_replicated_deduplication_window = 10000;
