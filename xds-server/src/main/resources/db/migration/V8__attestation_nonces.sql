-- Outstanding attestation challenges, shared by the replicas on one PostgreSQL database so that a
-- Challenge answered by one replica can be used in an Attest served by another (docs/operations-storage.md).
-- Only the SHA-256 of each nonce is kept: a read of this table yields no usable nonce. The embedded H2
-- store keeps nonces in memory and leaves this table empty.
CREATE TABLE attestation_nonces (
    nonce_sha256        VARCHAR(64) PRIMARY KEY,          -- hex SHA-256 of the 32-byte nonce
    node_id             VARCHAR(128) NOT NULL,
    lane                VARCHAR(16) NOT NULL,             -- ANONYMOUS | RENEWAL
    peer                VARCHAR(64) NOT NULL,             -- caller's address key (IPv4, IPv6 /64)
    k8s_namespace       VARCHAR(63) DEFAULT '' NOT NULL,  -- workload identity a verified token proved ('' for none)
    k8s_service_account VARCHAR(253) DEFAULT '' NOT NULL,
    k8s_pod_name        VARCHAR(253) DEFAULT '' NOT NULL,
    k8s_pod_uid         VARCHAR(64) DEFAULT '' NOT NULL,
    expires_at          TIMESTAMP WITH TIME ZONE NOT NULL,
    created_at          TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE INDEX attestation_nonces_node ON attestation_nonces (node_id, lane, created_at);
CREATE INDEX attestation_nonces_peer ON attestation_nonces (peer, lane, expires_at);
CREATE INDEX attestation_nonces_expiry ON attestation_nonces (expires_at);
