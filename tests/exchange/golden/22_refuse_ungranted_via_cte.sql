-- input
WITH c AS (SELECT religion AS r FROM population) SELECT r FROM c
-- error
未获授权的字段：population.religion (fields not granted: population.religion)
