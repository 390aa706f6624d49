-- Mesh config history: every accepted document, newest = highest version. Portable across H2 and PostgreSQL.
CREATE TABLE mesh_config (
    version     BIGINT PRIMARY KEY,
    document    TEXT NOT NULL,                    -- the YAML as the operator submitted it
    sha256      VARCHAR(64) NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
