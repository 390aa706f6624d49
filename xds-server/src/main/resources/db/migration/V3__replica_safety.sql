-- Version 3: what several replicas on one database need. Portable (H2 and PostgreSQL).

-- Named rows that transactions lock (SELECT ... FOR UPDATE) to serialize work across replicas sharing
-- one database: issuance log appends, policy set replacement, CA creation.
CREATE TABLE store_locks (
    name VARCHAR(64) PRIMARY KEY
);

INSERT INTO store_locks (name) VALUES ('issuance_log');
INSERT INTO store_locks (name) VALUES ('policies');
INSERT INTO store_locks (name) VALUES ('ca');

-- The issuance time exactly as hashed into the log (ISO-8601, nanoseconds): TIMESTAMP columns keep
-- microseconds (and PostgreSQL rounds), which would break the hash chain of entries issued at a
-- nanosecond-precise clock reading. NULL for entries written before this version.
ALTER TABLE issuance_log ADD COLUMN issued_at_exact VARCHAR(40);
