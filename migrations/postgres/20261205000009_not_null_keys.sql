-- Nothing to change on PostgreSQL, where a PRIMARY KEY is NOT NULL: the SQLite twin
-- of this migration makes SQLite's text keys so too (tests/schema.rs compares the two).
SELECT 1;
