-- nodes.tee held at most 8 characters, too few for the TEE type 'az-snp-vtpm' (11): an Azure vTPM node's
-- verified evidence could never be recorded, so it never received a certificate (found by
-- HardwareEvidenceThroughThePlaneTest). SET DATA TYPE is understood by both H2 and PostgreSQL and keeps NOT NULL.
ALTER TABLE nodes ALTER COLUMN tee SET DATA TYPE VARCHAR(32);
