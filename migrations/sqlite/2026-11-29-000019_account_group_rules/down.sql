-- Forgets whether an account has group rules: every user write reads them again.
ALTER TABLE accounts DROP COLUMN has_group_rules;
