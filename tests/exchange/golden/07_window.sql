-- input
SELECT name, income, RANK() OVER (PARTITION BY region_code ORDER BY income DESC) AS r FROM population QUALIFY r <= 3
-- duckdb
SELECT
  "population"."name" AS "name",
  "population"."income" AS "income",
  RANK() OVER (PARTITION BY "population"."region_code" ORDER BY "population"."income" DESC) AS "r"
FROM (
  SELECT
    RPAD(
      LEFT(CAST("_sz_r1"."name" AS TEXT), 1),
      CAST(LENGTH(CAST("_sz_r1"."name" AS TEXT)) AS INT),
      '*'
    ) AS "name",
    LEFT(CAST("_sz_r1"."region_code" AS TEXT), 4) || '00' AS "region_code",
    FLOOR("_sz_r1"."income" / 1000) * 1000 AS "income"
  FROM "_sz_r1"
  WHERE
    (
      "_sz_r1"."region_code" LIKE '3301%'
    )
) AS "population"
QUALIFY
  RANK() OVER (PARTITION BY "population"."region_code" ORDER BY "population"."income" DESC) <= 3
-- spark
SELECT
  `name`,
  `income`,
  `r`
FROM (
  SELECT
    `population`.`name` AS `name`,
    `population`.`income` AS `income`,
    RANK() OVER (PARTITION BY `population`.`region_code` ORDER BY `population`.`income` DESC) AS `r`,
    RANK() OVER (PARTITION BY `population`.`region_code` ORDER BY `population`.`income` DESC) AS _w
  FROM (
    SELECT
      RPAD(
        LEFT(CAST(`_sz_r1`.`name` AS STRING), 1),
        CAST(LENGTH(CAST(`_sz_r1`.`name` AS STRING)) AS INT),
        '*'
      ) AS `name`,
      LEFT(CAST(`_sz_r1`.`region_code` AS STRING), 4) || '00' AS `region_code`,
      FLOOR(`_sz_r1`.`income` / 1000) * 1000 AS `income`
    FROM `_sz_r1`
    WHERE
      (
        `_sz_r1`.`region_code` LIKE '3301%'
      )
  ) AS `population`
) AS _t
WHERE
  _w <= 3
