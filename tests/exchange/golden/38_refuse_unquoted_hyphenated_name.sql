-- input
SELECT person_id
FROM hrss-social-insurance
-- error
SQL 无法解析（第 2 行第 10 列）：此处有意外的符号 (cannot parse SQL (line 2, column 10): unexpected token here)
FROM hrss-social-insurance
         ^
