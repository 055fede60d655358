-- input
SELECT name, income FROM population TABLESAMPLE 10 PERCENT
-- error
不允许的语法：TABLESAMPLE (construct not allowed: TABLESAMPLE)
