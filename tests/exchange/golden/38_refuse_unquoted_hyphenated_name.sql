-- input
SELECT person_id
FROM hrss-social-insurance
-- error
SQL 无法解析（第 2 行第 10 列）/ cannot parse SQL (line 2, column 10): Invalid expression / Unexpected token
FROM hrss-social-insurance
         ^
