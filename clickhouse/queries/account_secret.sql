-- A shared secret: the oldest row of its name wins, so collectors that raced to create it agree.
SELECT value FROM {{ db }}.secrets WHERE name = {name:String} ORDER BY created_at, value LIMIT 1;
