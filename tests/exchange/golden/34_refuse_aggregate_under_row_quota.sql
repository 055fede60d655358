-- input
SELECT string_agg(licence_no, ',') AS all_numbers FROM licences
-- error
授权 3 按行计额度，只能逐条读取记录（单个数据集，不含聚合函数） (grant 3: under a rows-per-day quota only record reads are allowed (one dataset, no aggregates))
