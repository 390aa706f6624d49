package dev.attestmesh.ca;

import dev.attestmesh.quote.trust.EcdsaP256;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.util.Optional;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.operator.ContentSigner;

/**
 * ecdsa-with-SHA256 {@link ContentSigner} for BouncyCastle's certificate and CSR builders. A P-256
 * key whose scalar is available signs through {@link EcdsaP256.SigningKey} (the system's OpenSSL with hedged
 * nonces where it loads, else BouncyCastle with RFC 6979 nonces; both faster than SunEC here); any other
 * private key (a hardware-backed one, say) signs through
 * JCA. One instance signs one structure: create one per certificate or CSR (cheap).
 */
public final class EcdsaContentSigner implements ContentSigner {
    private static final AlgorithmIdentifier ECDSA_SHA256 = new AlgorithmIdentifier(X9ObjectIdentifiers.ecdsa_with_SHA256);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Optional<EcdsaP256.SigningKey> fast;
    private final PrivateKey key;
    private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(1024);

    private EcdsaContentSigner(Optional<EcdsaP256.SigningKey> fast, PrivateKey key) {
        this.fast = fast;
        this.key = key;
    }

    /** A signer for {@code key}, resolving the fast path on every call (prefer {@link #prepared}). */
    public static EcdsaContentSigner of(PrivateKey key) {
        return new EcdsaContentSigner(EcdsaP256.signingKey(key), key);
    }

    /** A signer for a key already resolved with {@link EcdsaP256#signingKey}; for hot paths. */
    public static EcdsaContentSigner prepared(Optional<EcdsaP256.SigningKey> fast, PrivateKey key) {
        return new EcdsaContentSigner(fast, key);
    }

    @Override
    public AlgorithmIdentifier getAlgorithmIdentifier() {
        return ECDSA_SHA256;
    }

    @Override
    public OutputStream getOutputStream() {
        return buffer;
    }

    @Override
    public byte[] getSignature() {
        byte[] tbs = buffer.toByteArray();
        if (fast.isPresent()) {
            return fast.get().signDer(tbs);
        }
        try {
            Signature s = Signature.getInstance("SHA256withECDSA");
            s.initSign(key, RANDOM);
            s.update(tbs);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ECDSA signing failed: " + e.getMessage(), e);
        }
    }
}
