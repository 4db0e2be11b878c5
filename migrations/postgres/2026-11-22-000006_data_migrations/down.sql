-- Forgets which data migrations ran. Rows they changed stay as they are: a re-folded shadow
-- column is still unique per account, and an older server recomputes it on the row's next write.
DROP TABLE data_migrations;
