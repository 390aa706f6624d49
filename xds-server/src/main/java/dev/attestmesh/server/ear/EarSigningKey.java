package dev.attestmesh.server.ear;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import dev.attestmesh.server.secrets.SecretStoreException;
import dev.attestmesh.server.secrets.SecretVault;
import dev.attestmesh.server.store.EarKeyStore;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Arrays;
import java.util.Objects;

/**
 * The ES256 key that signs this control plane's EAR tokens ({@code GET /api/v1/nodes/{id}/ear}). It is a
 * dedicated key: the CA keys sign certificates only and the issuance-log checkpoint key is Ed25519 with an
 * EKU for checkpoints, and EAR consumers (Trustee-style relying parties) expect ES256.
 *
 * <p>The key is kept in the store, sealed by the {@link SecretVault} (so under the key that seals the CA: the
 * operator key, or the TEE's), and is the same for every replica on the store and across restarts: a relying
 * party may fetch {@code /.well-known/attestmesh/ear-jwks.json} from any replica and verify a token from any
 * other. The first replica to start on a store generates it and inserts it if absent; every replica then reads
 * back the stored row and uses that. A stored key that does not open (another CA key, altered, or a {@code kid}
 * that is not its thumbprint) stops the start, as a CA that does not open does, and nothing is written.
 */
public final class EarSigningKey {
    private final ECKey key;

    private EarSigningKey(ECKey key) {
        this.key = key;
    }

    /**
     * The stored key, or a new one stored first when the store has none.
     *
     * @throws IllegalStateException when the stored key does not open with {@code vault} or is not a P-256 key
     *     whose thumbprint is its {@code kid}; the store is left as it was
     */
    public static EarSigningKey loadOrCreate(EarKeyStore store, SecretVault vault, Clock clock) {
        Objects.requireNonNull(vault, "vault");
        if (store.load(EarKeyStore.CURRENT).isEmpty()) {
            ECKey fresh = generate();
            byte[] jwk = fresh.toJSONString().getBytes(StandardCharsets.UTF_8);
            try {
                store.insertIfAbsent(EarKeyStore.CURRENT, new EarKeyStore.Stored(fresh.getKeyID(),
                        vault.seal(sealName(fresh.getKeyID()), 1, jwk)), clock.instant());
            } finally {
                Arrays.fill(jwk, (byte) 0);
            }
        }
        // Read back whatever won the insert: this replica's key or another's.
        EarKeyStore.Stored stored = store.load(EarKeyStore.CURRENT).orElseThrow(() -> new IllegalStateException(
                "the EAR signing key vanished from the store while starting"));
        return new EarSigningKey(open(stored, vault));
    }

    private static ECKey open(EarKeyStore.Stored stored, SecretVault vault) {
        byte[] jwk;
        try {
            jwk = vault.open(sealName(stored.kid()), 1, stored.sealed());
        } catch (SecretStoreException e) {
            throw new IllegalStateException("the stored EAR signing key does not open: altered, or sealed under "
                    + "another CA encryption key (check ATTESTMESH_CA_KEY / attestmesh.ca-key)", e);
        }
        try {
            ECKey k = ECKey.parse(new String(jwk, StandardCharsets.UTF_8));
            if (!k.isPrivate() || !Curve.P_256.equals(k.getCurve())
                    || !k.computeThumbprint().toString().equals(stored.kid()) || !stored.kid().equals(k.getKeyID())) {
                throw new IllegalStateException("the stored EAR signing key is not a P-256 private key whose "
                        + "thumbprint is its kid");
            }
            return k;
        } catch (java.text.ParseException | JOSEException e) {
            throw new IllegalStateException("the stored EAR signing key is not a JWK", e);
        } finally {
            Arrays.fill(jwk, (byte) 0);
        }
    }

    /** The vault name binds the sealed key to its kid: a row whose kid was changed does not open. */
    private static String sealName(String kid) {
        return "ear-signing-key:" + kid;
    }

    private static ECKey generate() {
        try {
            return new ECKeyGenerator(Curve.P_256).keyUse(KeyUse.SIGNATURE).algorithm(JWSAlgorithm.ES256)
                    .keyIDFromThumbprint(true).generate();
        } catch (JOSEException e) {
            throw new IllegalStateException("cannot generate the EAR signing key", e);
        }
    }

    ECKey privateKey() {
        return key;
    }

    /** The key's {@code kid} (RFC 7638 thumbprint). */
    public String kid() {
        return key.getKeyID();
    }

    /** The public JWK set (one key). */
    public JWKSet publicJwks() {
        return new JWKSet(key.toPublicJWK());
    }

    @Override
    public String toString() {
        return "EarSigningKey[" + kid() + "]"; // never the key
    }
}
