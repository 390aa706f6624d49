package dev.attestmesh.quote.sim;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPrivateKeySpec;
import java.security.spec.ECPublicKeySpec;
import org.bouncycastle.jce.ECNamedCurveTable;
import org.bouncycastle.jce.spec.ECNamedCurveParameterSpec;
import org.bouncycastle.math.ec.ECPoint;

/**
 * The simulator's signing key. By default it is derived from a published seed, so anyone can forge
 * simulated evidence: that is the point. The simulator is a development stand-in, and policies accept
 * it only when they list {@code sim} explicitly. A deployment may pass its own seed to keep unrelated
 * sim clusters apart; that does not make sim evidence trustworthy.
 */
public final class SimulatorKey {
    /** The published default seed. */
    public static final String DEFAULT_SEED = "attestmesh-insecure-simulator-key-v1";

    private SimulatorKey() {}

    /** Derives the P-256 key pair for {@code seed}. */
    public static KeyPair derive(String seed) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(seed.getBytes(StandardCharsets.UTF_8));
            ECNamedCurveParameterSpec bc = ECNamedCurveTable.getParameterSpec("secp256r1");
            BigInteger d = new BigInteger(1, h).mod(bc.getN().subtract(BigInteger.ONE)).add(BigInteger.ONE);
            ECPoint q = bc.getG().multiply(d).normalize();
            AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
            params.init(new ECGenParameterSpec("secp256r1"));
            ECParameterSpec spec = params.getParameterSpec(ECParameterSpec.class);
            KeyFactory kf = KeyFactory.getInstance("EC");
            var pub = kf.generatePublic(new ECPublicKeySpec(new java.security.spec.ECPoint(
                    q.getAffineXCoord().toBigInteger(), q.getAffineYCoord().toBigInteger()), spec));
            var priv = kf.generatePrivate(new ECPrivateKeySpec(d, spec));
            return new KeyPair(pub, priv);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("P-256 is not available in this JVM", e);
        }
    }
}
