-- input
SELECT region_code, birth_date, COUNT(*) AS n, AVG(income) AS avg_income FROM population WHERE income > 5000 GROUP BY region_code, birth_date ORDER BY n DESC
-- duckdb
SELECT
  "population"."region_code" AS "region_code",
  "population"."birth_date" AS "birth_date",
  COUNT(*) AS "n",
  AVG("population"."income") AS "avg_income"
FROM (
  SELECT
    CAST(DATE_TRUNC('YEAR', CAST("_sz_r1"."birth_date" AS DATE)) AS DATE) AS "birth_date",
    LEFT(CAST("_sz_r1"."region_code" AS TEXT), 4) || '00' AS "region_code",
    FLOOR("_sz_r1"."income" / 1000) * 1000 AS "income"
  FROM "_sz_r1"
  WHERE
    (
      "_sz_r1"."region_code" LIKE '3301%'
    )
) AS "population"
WHERE
  "population"."income" > 5000
GROUP BY
  "population"."region_code",
  "population"."birth_date"
ORDER BY
  "n" DESC
-- spark
SELECT
  `population`.`region_code` AS `region_code`,
  `population`.`birth_date` AS `birth_date`,
  COUNT(*) AS `n`,
  AVG(`population`.`income`) AS `avg_income`
FROM (
  SELECT
    CAST(TRUNC(CAST(`_sz_r1`.`birth_date` AS DATE), 'YEAR') AS DATE) AS `birth_date`,
    LEFT(CAST(`_sz_r1`.`region_code` AS STRING), 4) || '00' AS `region_code`,
    FLOOR(`_sz_r1`.`income` / 1000) * 1000 AS `income`
  FROM `_sz_r1`
  WHERE
    (
      `_sz_r1`.`region_code` LIKE '3301%'
    )
) AS `population`
WHERE
  `population`.`income` > 5000
GROUP BY
  `population`.`region_code`,
  `population`.`birth_date`
ORDER BY
  `n` DESC
