"""People: who a person is (identities stitched by identify), what they did and bought, their traits
and scores, from person-keyed rollups (clickhouse/migrations/0019_people.sql, docs/people.md)."""
