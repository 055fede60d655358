-- input
SELECT p.name, s.x FROM population p, LATERAL (SELECT p.religion AS x) s
-- error
未获授权的字段：population.religion (fields not granted: population.religion)
