-- input
SELECT "ReLiGiOn" FROM population
-- error
未获授权的字段 / fields not granted: population.religion
