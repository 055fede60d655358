-- input
SELECT * FROM read_parquet('versions/1.parquet')
-- error
不允许表函数：read_parquet (table functions are not allowed: read_parquet)
