DROP TABLE group_members;
DROP TABLE group_rules;
DROP TABLE groups;
