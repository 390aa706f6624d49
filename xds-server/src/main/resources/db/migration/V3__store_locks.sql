-- Named rows that transactions lock (SELECT ... FOR UPDATE) to serialize work across replicas sharing
-- one database: issuance log appends, policy set replacement, CA creation. Portable (H2, PostgreSQL).

CREATE TABLE store_locks (
    name VARCHAR(64) PRIMARY KEY
);

INSERT INTO store_locks (name) VALUES ('issuance_log');
INSERT INTO store_locks (name) VALUES ('policies');
INSERT INTO store_locks (name) VALUES ('ca');
