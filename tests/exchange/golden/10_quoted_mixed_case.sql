-- input
SELECT "NAME", Gender FROM "Population" AS P
-- duckdb
SELECT
  "p"."name" AS "name",
  "p"."gender" AS "gender"
FROM (
  SELECT
    RPAD(
      LEFT(CAST("_sz_r1"."name" AS TEXT), 1),
      CAST(LENGTH(CAST("_sz_r1"."name" AS TEXT)) AS INT),
      '*'
    ) AS "name",
    "_sz_r1"."gender" AS "gender"
  FROM "_sz_r1"
  WHERE
    (
      "_sz_r1"."region_code" LIKE '3301%'
    )
) AS "p"
-- spark
SELECT
  `p`.`name` AS `name`,
  `p`.`gender` AS `gender`
FROM (
  SELECT
    RPAD(
      LEFT(CAST(`_sz_r1`.`name` AS STRING), 1),
      CAST(LENGTH(CAST(`_sz_r1`.`name` AS STRING)) AS INT),
      '*'
    ) AS `name`,
    `_sz_r1`.`gender` AS `gender`
  FROM `_sz_r1`
  WHERE
    (
      `_sz_r1`.`region_code` LIKE '3301%'
    )
) AS `p`
