-- input
SELECT e.uscc FROM enterprise e WHERE EXISTS (SELECT 1 FROM population p WHERE p.id_number = e.legal_id_number)
-- duckdb
SELECT
  "e"."uscc" AS "uscc"
FROM (
  SELECT
    "_sz_r2"."uscc" AS "uscc",
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
WHERE
  EXISTS(
    SELECT
      1 AS "1"
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
    ) AS "p"
    WHERE
      "p"."id_number" = "e"."legal_id_number"
  )
-- spark
SELECT
  `e`.`uscc` AS `uscc`
FROM (
  SELECT
    `_sz_r2`.`uscc` AS `uscc`,
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
WHERE
  EXISTS(
    SELECT
      1 AS `1`
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
    ) AS `p`
    WHERE
      `p`.`id_number` = `e`.`legal_id_number`
  )
