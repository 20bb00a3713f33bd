-- The files of an issued run (PostgreSQL; migrations/sqlite holds its twin):
-- the e-wallet debtor account and the bank CSV choice, fixed at the first
-- issue like the bank debtor account (payer_*), and the VNPost cash list.

-- NULL: e-wallet payments leave from the bank debtor account (payer_*).
ALTER TABLE runs ADD COLUMN ewallet_payer_name TEXT;
ALTER TABLE runs ADD COLUMN ewallet_payer_account TEXT;
ALTER TABLE runs ADD COLUMN ewallet_payer_bin TEXT;
-- Whether the bank transfers are also written as the bank CSV of payments.md.
ALTER TABLE runs ADD COLUMN bank_csv BOOLEAN NOT NULL DEFAULT FALSE;

-- People with no account, listed for VNPost to pay in cash at the counter:
-- copied at issue, in the transaction that inserts the payments, so the list
-- is what approval covered and stays the same however often it is written.
-- A person is listed at most once per programme and month, as paid once.
CREATE TABLE cash_payments (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id         BIGINT NOT NULL REFERENCES runs (id),
    beneficiary_id BIGINT NOT NULL,
    program        TEXT NOT NULL,
    period         TEXT NOT NULL,
    id_number      TEXT NOT NULL,
    amount         BIGINT NOT NULL CHECK (amount > 0),
    full_name      TEXT NOT NULL,          -- the registry's, as on the ID card
    commune        TEXT NOT NULL,          -- '' when the registry has none
    UNIQUE (program, period, id_number),
    FOREIGN KEY (run_id, period, beneficiary_id) REFERENCES decisions (run_id, period, beneficiary_id)
);
CREATE INDEX cash_payments_by_run ON cash_payments (run_id, id);
-- Each transfer file reads one channel of a run's payments, in id order.
CREATE INDEX payments_by_run_channel ON payments (run_id, channel, id);
