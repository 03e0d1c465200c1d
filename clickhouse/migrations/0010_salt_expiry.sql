-- A salt expires when the day after its day ends (midnight UTC), as in 0006, but its day counts as no
-- earlier than the day the row was made and no later than the day after (collectors make tomorrow's
-- salt a day ahead). TTLs run by ClickHouse's clock, not the collector's: under 0006 a collector whose
-- clock is two days behind ClickHouse's (a test's injected clock, a wrong clock) saw every salt it made
-- deleted on insert, and one running ahead made salts that outlived their days. When the clocks agree
-- nothing changes: a day's salt is made on the day before or on the day itself.
ALTER TABLE {{ db }}.salts {{ on_cluster }}
    MODIFY TTL toDateTime(least(greatest(day, toDate(created_at)), toDate(created_at) + 1), 'UTC') + INTERVAL 2 DAY DELETE;
