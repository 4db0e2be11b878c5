DROP INDEX user_phone_numbers_value_e164_idx;
DROP INDEX user_emails_value_ci_idx;
DROP TABLE sign_in_passcodes;
