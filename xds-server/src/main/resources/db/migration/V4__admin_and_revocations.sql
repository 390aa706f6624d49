-- Admin API tokens and revocation rules. Portable across H2 (embedded default) and PostgreSQL.

CREATE TABLE admin_tokens (
    id            VARCHAR(36) PRIMARY KEY,          -- random UUID, shown to operators, never secret
    name          VARCHAR(128) NOT NULL,            -- who or what holds the token
    role          VARCHAR(16) NOT NULL,             -- VIEWER | OPERATOR | ADMIN
    token_sha256  VARCHAR(64) NOT NULL UNIQUE,      -- SHA-256 of the bearer token; the token itself is never stored
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE TABLE revocations (
    id          VARCHAR(36) PRIMARY KEY,            -- random UUID
    kind        VARCHAR(16) NOT NULL,               -- NODE | MEASUREMENT | POLICY | TCB_STATUS | ADVISORY
    rule_value  VARCHAR(256) NOT NULL,              -- node id, measurement hex, policy id, TCB status or advisory ID
    reason      VARCHAR(1024) NOT NULL,
    created_by  VARCHAR(128) NOT NULL,              -- admin token name that created the rule
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
