-- input
SELECT t FROM (SELECT tax_owed AS t FROM enterprise) AS s
-- error
未获授权的字段：enterprise.tax_owed (fields not granted: enterprise.tax_owed)
