"""From a checked event to the row ClickHouse stores: GeoIP, user agents, consent, scrubbing, visitor keys."""
