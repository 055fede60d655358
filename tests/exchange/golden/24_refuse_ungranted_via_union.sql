-- input
SELECT name FROM population UNION SELECT religion FROM population
-- error
未获授权的字段 / fields not granted: population.religion
