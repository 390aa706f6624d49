-- Registrations (docs/identity.md): each registration's current version and canonical document, as for policies.
CREATE TABLE registrations (
    id          VARCHAR(64) PRIMARY KEY,
    version     BIGINT NOT NULL,
    spiffe_id   VARCHAR(2048) NOT NULL,
    document    TEXT NOT NULL,                    -- canonical YAML of this one registration
    sha256      VARCHAR(64) NOT NULL,
    updated_at  TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Which registration granted a node its SPIFFE ID, the key lineage its node id is pinned to, and the
-- Kubernetes workload identity its Challenge proved (empty strings for none). Rows from before this
-- version have no registration: the registry withdraws their identity at start (they must attest again).
ALTER TABLE nodes ADD COLUMN registration VARCHAR(64) DEFAULT '' NOT NULL;
ALTER TABLE nodes ADD COLUMN key_sha256 VARCHAR(64) DEFAULT '' NOT NULL;
ALTER TABLE nodes ADD COLUMN k8s_namespace VARCHAR(63) DEFAULT '' NOT NULL;
ALTER TABLE nodes ADD COLUMN k8s_service_account VARCHAR(253) DEFAULT '' NOT NULL;
ALTER TABLE nodes ADD COLUMN k8s_pod_name VARCHAR(253) DEFAULT '' NOT NULL;
ALTER TABLE nodes ADD COLUMN k8s_pod_uid VARCHAR(64) DEFAULT '' NOT NULL;
INSERT INTO store_locks (name) VALUES ('registrations');
