-- input
WITH population AS (SELECT 1 AS x) SELECT x FROM population
-- duckdb
WITH "population" AS (
  SELECT
    1 AS "x"
)
SELECT
  "population"."x" AS "x"
FROM "population" AS "population"
-- spark
WITH `population` AS (
  SELECT
    1 AS `x`
)
SELECT
  `population`.`x` AS `x`
FROM `population` AS `population`
