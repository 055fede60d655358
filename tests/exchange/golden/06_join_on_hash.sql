-- input
SELECT e.ent_name, p.name FROM enterprise AS e JOIN population AS p ON e.legal_id_number = p.id_number
-- duckdb
SELECT
  "e"."ent_name" AS "ent_name",
  "p"."name" AS "name"
FROM (
  SELECT
    "_sz_r2"."ent_name" AS "ent_name",
    SHA256(
      UNHEX(
        '3b2e3d3228716e5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c'
      ) || UNHEX(
        SHA256(
          UNHEX(
            '51445758421b04363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636'
          ) || ENCODE(CAST("_sz_r2"."legal_id_number" AS TEXT))
        )
      )
    ) AS "legal_id_number"
  FROM "_sz_r2"
) AS "e"
JOIN (
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
    ) AS "name"
  FROM "_sz_r1"
  WHERE
    (
      "_sz_r1"."region_code" LIKE '3301%'
    )
) AS "p"
  ON "e"."legal_id_number" = "p"."id_number"
-- spark
SELECT
  `e`.`ent_name` AS `ent_name`,
  `p`.`name` AS `name`
FROM (
  SELECT
    `_sz_r2`.`ent_name` AS `ent_name`,
    SHA2(
      UNHEX(
        '3b2e3d3228716e5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c'
      ) || UNHEX(
        SHA2(
          UNHEX(
            '51445758421b04363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636'
          ) || ENCODE(CAST(`_sz_r2`.`legal_id_number` AS STRING), 'utf-8'),
          256
        )
      ),
      256
    ) AS `legal_id_number`
  FROM `_sz_r2`
) AS `e`
JOIN (
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
    ) AS `name`
  FROM `_sz_r1`
  WHERE
    (
      `_sz_r1`.`region_code` LIKE '3301%'
    )
) AS `p`
  ON `e`.`legal_id_number` = `p`.`id_number`
