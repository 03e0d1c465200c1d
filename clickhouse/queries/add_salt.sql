-- A day's salt, made by whichever collector needs it first (a day ahead, or on the day).
INSERT INTO {{ db }}.salts (day, salt, created_at)
VALUES ({day:Date}, {salt:String}, now64(3));
