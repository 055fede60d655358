-- input
SELECT a.licence_no, b.name FROM licences a JOIN population b ON a.holder = b.name
-- error
授权 3 按行计额度，只能逐条读取记录（单个数据集，不含JOIN） (grant 3: under a rows-per-day quota only record reads are allowed (one dataset, no JOIN))
