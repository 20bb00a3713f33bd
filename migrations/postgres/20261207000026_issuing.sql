-- A run being issued (migrations/sqlite holds its twin).
--
-- `run issue` inserted a run's payments in one transaction, and on SQLite
-- that held every other writer (a server's sign-ins, another run's progress)
-- for nine seconds at a million people. It now moves the run to 'issuing' in
-- a short transaction, inserts its payments in parts of a fraction of a second
-- each, checks what was inserted against the approval, and only then moves it
-- to 'issued' (host/src/run/issue.rs). A run left 'issuing' by a crash is
-- finished by issuing it again; one whose check fails has its payments taken
-- out, in parts, and goes back to approved (or, its approval void, to
-- evaluated). Nothing in a run that is 'issuing' has been sent: its files are
-- made only once it is issued.
ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check CHECK (status IN
    ('created', 'evaluated', 'approved', 'issuing', 'issued', 'reconciled', 'cancelled'));
ALTER TABLE runs DROP CONSTRAINT runs_check1;
ALTER TABLE runs ADD CONSTRAINT runs_check1
    CHECK (status NOT IN ('approved', 'issuing', 'issued', 'reconciled') OR approved_by IS NOT NULL);
