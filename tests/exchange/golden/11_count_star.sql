-- input
SELECT COUNT(*) FROM population
-- duckdb
SELECT
  COUNT(*) AS "_col_0"
FROM (
  SELECT
    SHA256(
      UNHEX(
        '3b2e3d3228716d5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c'
      ) || UNHEX(
        SHA256(
          UNHEX(
            '51445758421b07363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636'
          ) || ENCODE(CAST("_sz_r1"."id_number" AS TEXT))
        )
      )
    ) AS "id_number"
  FROM "_sz_r1"
  WHERE
    (
      "_sz_r1"."region_code" LIKE '3301%'
    )
) AS "population"
-- spark
SELECT
  COUNT(*) AS `_col_0`
FROM (
  SELECT
    SHA2(
      UNHEX(
        '3b2e3d3228716d5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c'
      ) || UNHEX(
        SHA2(
          UNHEX(
            '51445758421b07363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636'
          ) || ENCODE(CAST(`_sz_r1`.`id_number` AS STRING), 'utf-8'),
          256
        )
      ),
      256
    ) AS `id_number`
  FROM `_sz_r1`
  WHERE
    (
      `_sz_r1`.`region_code` LIKE '3301%'
    )
) AS `population`
