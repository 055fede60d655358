-- input
WITH young AS (SELECT name, birth_date FROM population WHERE birth_date > DATE '2000-01-01') SELECT name FROM young
-- duckdb
WITH "young" AS (
  SELECT
    "population"."name" AS "name",
    "population"."birth_date" AS "birth_date"
  FROM (
    SELECT
      RPAD(
        LEFT(CAST("_sz_r1"."name" AS TEXT), 1),
        CAST(LENGTH(CAST("_sz_r1"."name" AS TEXT)) AS INT),
        '*'
      ) AS "name",
      CAST(DATE_TRUNC('YEAR', CAST("_sz_r1"."birth_date" AS DATE)) AS DATE) AS "birth_date"
    FROM "_sz_r1"
    WHERE
      (
        "_sz_r1"."region_code" LIKE '3301%'
      )
  ) AS "population"
  WHERE
    "population"."birth_date" > CAST('2000-01-01' AS DATE)
)
SELECT
  "young"."name" AS "name"
FROM "young" AS "young"
-- spark
WITH `young` AS (
  SELECT
    `population`.`name` AS `name`,
    `population`.`birth_date` AS `birth_date`
  FROM (
    SELECT
      RPAD(
        LEFT(CAST(`_sz_r1`.`name` AS STRING), 1),
        CAST(LENGTH(CAST(`_sz_r1`.`name` AS STRING)) AS INT),
        '*'
      ) AS `name`,
      CAST(TRUNC(CAST(`_sz_r1`.`birth_date` AS DATE), 'YEAR') AS DATE) AS `birth_date`
    FROM `_sz_r1`
    WHERE
      (
        `_sz_r1`.`region_code` LIKE '3301%'
      )
  ) AS `population`
  WHERE
    `population`.`birth_date` > CAST('2000-01-01' AS DATE)
)
SELECT
  `young`.`name` AS `name`
FROM `young` AS `young`
