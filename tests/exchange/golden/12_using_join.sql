-- input
SELECT region_code, COUNT(*) FROM population JOIN enterprise USING (region_code) GROUP BY 1
-- duckdb
SELECT
  COALESCE("population"."region_code", "enterprise"."region_code") AS "region_code",
  COUNT(*) AS "_col_1"
FROM (
  SELECT
    LEFT(CAST("_sz_r1"."region_code" AS TEXT), 4) || '00' AS "region_code"
  FROM "_sz_r1"
  WHERE
    (
      "_sz_r1"."region_code" LIKE '3301%'
    )
) AS "population"
JOIN (
  SELECT
    LEFT(CAST("_sz_r2"."region_code" AS TEXT), 2) || '0000' AS "region_code"
  FROM "_sz_r2"
) AS "enterprise"
  ON "population"."region_code" = "enterprise"."region_code"
GROUP BY
  COALESCE("population"."region_code", "enterprise"."region_code")
-- spark
SELECT
  COALESCE(`population`.`region_code`, `enterprise`.`region_code`) AS `region_code`,
  COUNT(*) AS `_col_1`
FROM (
  SELECT
    LEFT(CAST(`_sz_r1`.`region_code` AS STRING), 4) || '00' AS `region_code`
  FROM `_sz_r1`
  WHERE
    (
      `_sz_r1`.`region_code` LIKE '3301%'
    )
) AS `population`
JOIN (
  SELECT
    LEFT(CAST(`_sz_r2`.`region_code` AS STRING), 2) || '0000' AS `region_code`
  FROM `_sz_r2`
) AS `enterprise`
  ON `population`.`region_code` = `enterprise`.`region_code`
GROUP BY
  COALESCE(`population`.`region_code`, `enterprise`.`region_code`)
