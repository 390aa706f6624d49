package dev.attestmesh.server.ear;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import jakarta.inject.Singleton;

/**
 * The ES256 key that signs this control plane's EAR tokens ({@code GET /api/v1/nodes/{id}/ear}). It is a
 * dedicated key: the CA keys sign certificates only and the issuance-log checkpoint key is Ed25519 with an
 * EKU for checkpoints, and EAR consumers (Trustee-style relying parties) expect ES256.
 *
 * <p>The key lives in memory for the life of the process and is published, with its {@code kid} (the RFC
 * 7638 thumbprint), at {@code /.well-known/attestmesh/ear-jwks.json}. A restart or another replica has
 * another key: relying parties select the key by {@code kid} from the JWKS of the replica that answered.
 * Tokens are short-lived (5 minutes), so none outlives its key by long. Persisting it sealed with the CA
 * is not done (docs/trustee.md, "EAR out").
 */
@Singleton
public final class EarSigningKey {
    private final ECKey key;

    public EarSigningKey() {
        try {
            key = new ECKeyGenerator(Curve.P_256).keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.ES256)
                    .keyIDFromThumbprint(true).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot generate the EAR signing key", e);
        }
    }

    ECKey privateKey() {
        return key;
    }

    /** The public JWK set (one key). */
    public JWKSet publicJwks() {
        return new JWKSet(key.toPublicJWK());
    }
}
