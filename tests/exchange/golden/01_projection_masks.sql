-- input
SELECT id_number, name, gender, birth_date, region_code, income FROM population
-- duckdb
SELECT
  "population"."id_number" AS "id_number",
  "population"."name" AS "name",
  "population"."gender" AS "gender",
  "population"."birth_date" AS "birth_date",
  "population"."region_code" AS "region_code",
  "population"."income" AS "income"
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
    ) AS "id_number",
    RPAD(
      LEFT(CAST("_sz_r1"."name" AS TEXT), 1),
      CAST(LENGTH(CAST("_sz_r1"."name" AS TEXT)) AS INT),
      '*'
    ) AS "name",
    "_sz_r1"."gender" AS "gender",
    CAST(DATE_TRUNC('YEAR', CAST("_sz_r1"."birth_date" AS DATE)) AS DATE) AS "birth_date",
    LEFT(CAST("_sz_r1"."region_code" AS TEXT), 4) || '00' AS "region_code",
    FLOOR("_sz_r1"."income" / 1000) * 1000 AS "income"
  FROM "_sz_r1"
  WHERE
    (
      "_sz_r1"."region_code" LIKE '3301%'
    )
) AS "population"
-- spark
SELECT
  `population`.`id_number` AS `id_number`,
  `population`.`name` AS `name`,
  `population`.`gender` AS `gender`,
  `population`.`birth_date` AS `birth_date`,
  `population`.`region_code` AS `region_code`,
  `population`.`income` AS `income`
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
    ) AS `id_number`,
    RPAD(
      LEFT(CAST(`_sz_r1`.`name` AS STRING), 1),
      CAST(LENGTH(CAST(`_sz_r1`.`name` AS STRING)) AS INT),
      '*'
    ) AS `name`,
    `_sz_r1`.`gender` AS `gender`,
    CAST(TRUNC(CAST(`_sz_r1`.`birth_date` AS DATE), 'YEAR') AS DATE) AS `birth_date`,
    LEFT(CAST(`_sz_r1`.`region_code` AS STRING), 4) || '00' AS `region_code`,
    FLOOR(`_sz_r1`.`income` / 1000) * 1000 AS `income`
  FROM `_sz_r1`
  WHERE
    (
      `_sz_r1`.`region_code` LIKE '3301%'
    )
) AS `population`
