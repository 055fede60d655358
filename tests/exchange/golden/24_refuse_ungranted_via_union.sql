-- input
SELECT name FROM population UNION SELECT religion FROM population
-- error
未获授权的字段：population.religion (fields not granted: population.religion)
