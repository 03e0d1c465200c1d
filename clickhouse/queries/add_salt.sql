-- A new day's salt, made by whichever collector needs it first.
INSERT INTO {{ db }}.salts (day, salt, created_at)
VALUES ({day:Date}, {salt:String}, now64(3));
