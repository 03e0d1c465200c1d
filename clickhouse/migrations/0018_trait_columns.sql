-- identify and group events carry traits to set once and trait keys to unset beside the traits to set
-- (docs/protocol.md). A migration of its own, so that tests of older migrations can store events with
-- today's writer, which writes these columns, on a schema that is otherwise older.
ALTER TABLE {{ db }}.events {{ on_cluster }}
    ADD COLUMN IF NOT EXISTS traits_once String CODEC(ZSTD(3)),
    ADD COLUMN IF NOT EXISTS traits_unset Array(String);
