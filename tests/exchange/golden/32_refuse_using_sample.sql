-- input
SELECT gender, COUNT(*) AS n FROM population USING SAMPLE 10%
-- error
不允许的语法：TABLESAMPLE (construct not allowed: TABLESAMPLE)
