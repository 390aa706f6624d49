-- Operator secrets released only to attested nodes (docs/secrets.md). Values are stored only sealed
-- (AES-256-GCM under a key derived from the CA encryption key, one derived key per version); no column
-- holds a value in the clear.
CREATE TABLE secrets (
    name            VARCHAR(63) PRIMARY KEY,
    allow_rules     VARCHAR(4096) NOT NULL,           -- comma list of registration:<id> / policy:<id>
    export_rules    VARCHAR(4096) DEFAULT '' NOT NULL, -- rules that may import the secret (same form)
    current_version BIGINT NOT NULL,
    sealing_policy  VARCHAR(128) DEFAULT '' NOT NULL, -- non-empty: an HPKE private key of that sealing policy
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at      TIMESTAMP WITH TIME ZONE NOT NULL
);

CREATE TABLE secret_versions (
    name        VARCHAR(63) NOT NULL,
    version     BIGINT NOT NULL,
    sealed      BYTEA NOT NULL,                       -- SecretVault output; the value never appears in the clear
    value_size  INTEGER NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    retired     BOOLEAN DEFAULT FALSE NOT NULL,
    PRIMARY KEY (name, version)
);

-- A secret imported into another access rule by reference (SCONE-style sharing); valid only while the
-- owner's export_rules list the rule.
CREATE TABLE secret_imports (
    name        VARCHAR(63) NOT NULL,
    import_rule VARCHAR(200) NOT NULL,
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (name, import_rule)
);

-- Issuance log entries may record secret releases (docs/issuance-log.md). Existing rows are certificates.
ALTER TABLE issuance_log ADD COLUMN secret_name VARCHAR(63) DEFAULT '' NOT NULL;
ALTER TABLE issuance_log ADD COLUMN secret_version BIGINT DEFAULT 0 NOT NULL;
INSERT INTO store_locks (name) VALUES ('secrets');

-- HPKE sealing key pairs of policies with `sealing: true` (docs/secrets.md, "Sealing to a policy"). The private
-- key is stored sealed like a secret value and released only to nodes satisfying the policy.
CREATE TABLE sealing_keys (
    key_id         VARCHAR(16) PRIMARY KEY,           -- first 8 bytes of SHA-256(public key), hex
    policy_id      VARCHAR(128) NOT NULL,
    public_key     BYTEA NOT NULL,
    sealed_private BYTEA NOT NULL,
    state          VARCHAR(16) NOT NULL,              -- ACTIVE | PREVIOUS | RETIRED
    created_at     TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX sealing_keys_policy ON sealing_keys (policy_id, state);
