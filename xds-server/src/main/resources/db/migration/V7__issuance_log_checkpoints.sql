-- Version 7: signed checkpoints (tree heads) of the issuance log. Portable (H2 and PostgreSQL).

-- One row per signed checkpoint, append-only. The note is authoritative (it is what the signature covers
-- and what verifiers receive); tree_size, head_hash and signed_at repeat what it says, for queries.
CREATE TABLE issuance_log_checkpoints (
    id          BIGINT PRIMARY KEY,               -- 1, 2, ... in signing order
    tree_size   BIGINT NOT NULL,                  -- entries covered
    head_hash   VARCHAR(64) NOT NULL,             -- hash of entry tree_size, lower-case hex
    signed_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    note        VARCHAR(16384) NOT NULL           -- the C2SP signed note, exactly as signed (docs/issuance-log.md)
);

-- Serializes checkpointing across replicas (read latest, verify, sign, insert).
INSERT INTO store_locks (name) VALUES ('issuance_log_checkpoints');
