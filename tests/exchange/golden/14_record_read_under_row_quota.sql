-- input
SELECT upper(holder) AS h, licence_no FROM licences WHERE issued_on >= DATE '2024-01-01' ORDER BY licence_no LIMIT 10
-- duckdb
SELECT
  UPPER("licences"."holder") AS "h",
  "licences"."licence_no" AS "licence_no"
FROM (
  SELECT
    "_sz_r3"."licence_no" AS "licence_no",
    RPAD(
      LEFT(CAST("_sz_r3"."holder" AS TEXT), 1),
      CAST(LENGTH(CAST("_sz_r3"."holder" AS TEXT)) AS INT),
      '*'
    ) AS "holder",
    CAST(DATE_TRUNC('MONTH', CAST("_sz_r3"."issued_on" AS DATE)) AS DATE) AS "issued_on"
  FROM "_sz_r3"
) AS "licences"
WHERE
  "licences"."issued_on" >= CAST('2024-01-01' AS DATE)
ORDER BY
  "licence_no"
LIMIT 10
-- spark
SELECT
  UPPER(`licences`.`holder`) AS `h`,
  `licences`.`licence_no` AS `licence_no`
FROM (
  SELECT
    `_sz_r3`.`licence_no` AS `licence_no`,
    RPAD(
      LEFT(CAST(`_sz_r3`.`holder` AS STRING), 1),
      CAST(LENGTH(CAST(`_sz_r3`.`holder` AS STRING)) AS INT),
      '*'
    ) AS `holder`,
    CAST(TRUNC(CAST(`_sz_r3`.`issued_on` AS DATE), 'MONTH') AS DATE) AS `issued_on`
  FROM `_sz_r3`
) AS `licences`
WHERE
  `licences`.`issued_on` >= CAST('2024-01-01' AS DATE)
ORDER BY
  `licence_no` NULLS LAST
LIMIT 10
