-- The durable job queue and the schedules that feed it. A job is enqueued in the transaction of the
-- change that causes it, claimed by one worker at a time under a lease (claimed_until), retried with
-- backoff, and kept as `failed` with its last error once its attempts are spent. Server-wide jobs
-- have no account.

CREATE TABLE jobs (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    payload TEXT NOT NULL,
    dedup_key TEXT,
    priority INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at TIMESTAMP NOT NULL,
    claimed_by TEXT,
    claimed_until TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
-- What a worker looks for: runnable queued jobs by priority and time, and expired leases.
CREATE INDEX jobs_claim_idx ON jobs (state, run_at);
CREATE INDEX jobs_account_state_idx ON jobs (account_id, state);
-- One not-yet-done job per (name, dedup key); a done or failed job no longer blocks a new one.
CREATE UNIQUE INDEX jobs_dedup_key ON jobs (name, dedup_key)
    WHERE dedup_key IS NOT NULL AND state IN ('queued', 'running');

-- Periodic work: the instance that moves next_run_at on (a compare-and-set) enqueues the run.
CREATE TABLE job_schedules (
    name TEXT PRIMARY KEY NOT NULL,
    next_run_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
