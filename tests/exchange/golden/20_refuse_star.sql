-- input
SELECT * FROM population
-- error
不允许 SELECT *，请列出已授权字段 (SELECT * is not allowed; list granted fields)
