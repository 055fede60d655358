-- input
WITH l AS (SELECT licence_no FROM licences) SELECT licence_no FROM l
-- error
授权 3 按行计额度，只能逐条读取记录（单个数据集，不含WITH） (grant 3: under a rows-per-day quota only record reads are allowed (one dataset, no WITH))
