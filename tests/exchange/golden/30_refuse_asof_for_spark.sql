-- input
SELECT p.name FROM population p ASOF JOIN enterprise e ON p.region_code >= e.region_code
-- duckdb
SELECT
  "p"."name" AS "name"
FROM (
  SELECT
    RPAD(
      LEFT(CAST("_sz_r1"."name" AS TEXT), 1),
      CAST(LENGTH(CAST("_sz_r1"."name" AS TEXT)) AS INT),
      '*'
    ) AS "name",
    LEFT(CAST("_sz_r1"."region_code" AS TEXT), 4) || '00' AS "region_code"
  FROM "_sz_r1"
  WHERE
    (
      "_sz_r1"."region_code" LIKE '3301%'
    )
) AS "p"
ASOF JOIN (
  SELECT
    LEFT(CAST("_sz_r2"."region_code" AS TEXT), 2) || '0000' AS "region_code"
  FROM "_sz_r2"
) AS "e"
  ON "p"."region_code" >= "e"."region_code"
-- spark
REFUSED: 该连接方式无法在目标引擎执行：ASOF (join not portable to spark: ASOF)
