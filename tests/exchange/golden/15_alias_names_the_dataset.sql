-- input
SELECT s.person_id, amount FROM hrss_social_insurance AS s WHERE amount > 100 ORDER BY amount
-- duckdb
SELECT
  "s"."person_id" AS "person_id",
  "s"."amount" AS "amount"
FROM (
  SELECT
    SHA256(
      UNHEX(
        '3b2e3d322871685c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c'
      ) || UNHEX(
        SHA256(
          UNHEX(
            '51445758421b02363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636'
          ) || ENCODE(CAST("_sz_r4"."person_id" AS TEXT))
        )
      )
    ) AS "person_id",
    "_sz_r4"."amount" AS "amount"
  FROM "_sz_r4"
  WHERE
    (
      "_sz_r4"."amount" > 0
    )
) AS "s"
WHERE
  "s"."amount" > 100
ORDER BY
  "amount"
-- spark
SELECT
  `s`.`person_id` AS `person_id`,
  `s`.`amount` AS `amount`
FROM (
  SELECT
    SHA2(
      UNHEX(
        '3b2e3d322871685c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c'
      ) || UNHEX(
        SHA2(
          UNHEX(
            '51445758421b02363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636363636'
          ) || ENCODE(CAST(`_sz_r4`.`person_id` AS STRING), 'utf-8'),
          256
        )
      ),
      256
    ) AS `person_id`,
    `_sz_r4`.`amount` AS `amount`
  FROM `_sz_r4`
  WHERE
    (
      `_sz_r4`.`amount` > 0
    )
) AS `s`
WHERE
  `s`.`amount` > 100
ORDER BY
  `amount` NULLS LAST
