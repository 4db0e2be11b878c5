DROP TABLE used_jtis;
DROP TABLE crewplanner_links;
DROP TABLE app_profiles;
DROP TABLE sessions;
DROP TABLE sign_in_codes;
