-- Which population registry a run was evaluated against (PostgreSQL; migrations/sqlite holds its
-- twin): `table registry_people`, or the registry service's base URL. Set when evaluation
-- begins; a run is resumed only against the same one, so that an auditor replaying it asks the
-- registry that decided it. NULL for runs evaluated before it was kept.

ALTER TABLE runs ADD COLUMN registry_source TEXT;
