-- Yesterday's, today's and tomorrow's visitor-key salts; if collectors raced to create one, the oldest
-- wins. (The alias must not be `day`: ClickHouse would read the WHERE below against the alias.)
SELECT toString(day) AS salt_day, argMin(salt, created_at) AS salt
FROM {{ db }}.salts
WHERE day IN ({yesterday:Date}, {today:Date}, {tomorrow:Date})
GROUP BY day;
