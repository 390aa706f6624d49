-- AttestMesh control plane schema, version 1. Portable across H2 (embedded default) and PostgreSQL:
-- binary columns are BYTEA (PostgreSQL has no BLOB; H2 reads BYTEA as BINARY VARYING).

CREATE TABLE ca_material (
    id          VARCHAR(32) PRIMARY KEY,          -- 'mesh'
    sealed      BYTEA NOT NULL,                   -- CaVault.seal output (AES-256-GCM)
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE TABLE policies (
    id          VARCHAR(64) PRIMARY KEY,
    version     BIGINT NOT NULL,
    document    TEXT NOT NULL,                    -- canonical YAML of this one policy
    sha256      VARCHAR(64) NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE TABLE nodes (
    node_id             VARCHAR(128) PRIMARY KEY,
    spiffe_id           VARCHAR(512) NOT NULL,
    tee                 VARCHAR(8) NOT NULL,
    measurement         VARCHAR(256) NOT NULL,
    state               VARCHAR(16) NOT NULL,     -- ATTESTED | REVOKED | EXPIRED
    state_reason        VARCHAR(1024) NOT NULL,
    claims              BYTEA NOT NULL,           -- AttestationClaimsCodec DER
    satisfied_policies  VARCHAR(4096) NOT NULL,   -- id=version,id=version
    cert_chain_pem      TEXT NOT NULL,
    cert_serial         VARCHAR(64) NOT NULL,
    cert_sha256         VARCHAR(64) NOT NULL,
    previous_cert_sha256 VARCHAR(64) NOT NULL,    -- still valid during renewal overlap
    cert_not_after      TIMESTAMP WITH TIME ZONE NOT NULL,
    evidence_expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    attested_at         TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at          TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX nodes_spiffe_id ON nodes (spiffe_id);

CREATE TABLE issuance_log (
    seq              BIGINT PRIMARY KEY,
    serial_hex       VARCHAR(64) NOT NULL,
    node_id          VARCHAR(128) NOT NULL,
    spiffe_id        VARCHAR(512) NOT NULL,
    evidence_sha256  VARCHAR(64) NOT NULL,
    policy_ids       VARCHAR(4096) NOT NULL,
    issued_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    previous_hash    VARCHAR(64) NOT NULL,
    entry_hash       VARCHAR(64) NOT NULL
);
