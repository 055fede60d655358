-- input
SELECT lower(name) AS n, pg_get_viewdef(1) AS d FROM population
-- error
不允许的函数：pg_get_viewdef (function not allowed: pg_get_viewdef)
