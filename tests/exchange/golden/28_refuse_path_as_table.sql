-- input
SELECT name FROM '/etc/passwd'
-- error
未获授权或不存在的数据集：/etc/passwd (dataset not granted or unknown: /etc/passwd)
