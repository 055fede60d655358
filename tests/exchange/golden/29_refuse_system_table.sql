-- input
SELECT table_name FROM information_schema.tables
-- error
只能引用目录中的数据集名：information_schema.tables (only catalog dataset names may be used: information_schema.tables)
