-- Verified evidence claims (JSON), kept so that a policy change re-appraises every node at once.
ALTER TABLE nodes ADD COLUMN evidence_json TEXT DEFAULT '' NOT NULL;
