-- input
SELECT name -- , religion
FROM population /* religion */
-- duckdb
SELECT
  "population"."name" AS "name"
FROM (
  SELECT
    RPAD(
      LEFT(CAST("_sz_r1"."name" AS TEXT), 1),
      CAST(LENGTH(CAST("_sz_r1"."name" AS TEXT)) AS INT),
      '*'
    ) AS "name"
  FROM "_sz_r1"
  WHERE
    (
      "_sz_r1"."region_code" LIKE '3301%'
    )
) AS "population"
-- spark
SELECT
  `population`.`name` AS `name`
FROM (
  SELECT
    RPAD(
      LEFT(CAST(`_sz_r1`.`name` AS STRING), 1),
      CAST(LENGTH(CAST(`_sz_r1`.`name` AS STRING)) AS INT),
      '*'
    ) AS `name`
  FROM `_sz_r1`
  WHERE
    (
      `_sz_r1`.`region_code` LIKE '3301%'
    )
) AS `population`
