DROP TABLE job_schedules;
DROP INDEX jobs_dedup_key;
DROP INDEX jobs_account_state_idx;
DROP INDEX jobs_claim_idx;
DROP TABLE jobs;
