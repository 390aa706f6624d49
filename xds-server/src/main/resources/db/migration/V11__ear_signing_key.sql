-- The control plane's EAR signing key (docs/trustee.md, "EAR out"), shared by every replica on this store so that a
-- relying party can verify any replica's token with the JWKS of any other, and kept across restarts. The private key
-- is stored only sealed (SecretVault, under the key that seals the CA; name "ear-signing-key:<kid>"); no column holds
-- it in the clear. Written once, by the first replica that starts on the store (insert-if-absent, then read back).
CREATE TABLE ear_signing_keys (
    slot        VARCHAR(16) PRIMARY KEY,          -- 'current' (one key; a rotation would add a 'previous')
    kid         VARCHAR(64) NOT NULL UNIQUE,      -- RFC 7638 thumbprint of the public key, base64url
    sealed      BYTEA NOT NULL,                   -- SecretVault output over the private JWK
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL
);
