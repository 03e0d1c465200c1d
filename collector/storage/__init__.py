"""From a row to ClickHouse: the spool, the writer, the store and its two backends, migrations, SQL files."""
