-- input
SELECT region_code FROM population UNION ALL SELECT region_code FROM enterprise
-- duckdb
SELECT
  "population"."region_code" AS "region_code"
FROM (
  SELECT
    LEFT(CAST("_sz_r1"."region_code" AS TEXT), 4) || '00' AS "region_code"
  FROM "_sz_r1"
  WHERE
    (
      "_sz_r1"."region_code" LIKE '3301%'
    )
) AS "population"
UNION ALL
SELECT
  "enterprise"."region_code" AS "region_code"
FROM (
  SELECT
    LEFT(CAST("_sz_r2"."region_code" AS TEXT), 2) || '0000' AS "region_code"
  FROM "_sz_r2"
) AS "enterprise"
-- spark
SELECT
  `population`.`region_code` AS `region_code`
FROM (
  SELECT
    LEFT(CAST(`_sz_r1`.`region_code` AS STRING), 4) || '00' AS `region_code`
  FROM `_sz_r1`
  WHERE
    (
      `_sz_r1`.`region_code` LIKE '3301%'
    )
) AS `population`
UNION ALL
SELECT
  `enterprise`.`region_code` AS `region_code`
FROM (
  SELECT
    LEFT(CAST(`_sz_r2`.`region_code` AS STRING), 2) || '0000' AS `region_code`
  FROM `_sz_r2`
) AS `enterprise`
