package dev.attestmesh.quote.intel;

import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.util.Arrays;
import java.util.Optional;

/**
 * ECDSA P-256 / SHA-256 with Intel's raw encodings: public keys as x||y (64 bytes) and signatures
 * as r||s (64 bytes), both big-endian. Uses the JDK's SunEC provider through the IEEE P1363
 * signature format, which takes r||s directly (no DER re-encoding on the hot path).
 */
public final class EcdsaP256 {
    private static final ECParameterSpec P256;

    static {
        try {
            AlgorithmParameters p = AlgorithmParameters.getInstance("EC");
            p.init(new ECGenParameterSpec("secp256r1"));
            P256 = p.getParameterSpec(ECParameterSpec.class);
        } catch (GeneralSecurityException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private EcdsaP256() {}

    /** The key for raw x||y, or empty if it is not a point of the right size on P-256. */
    public static Optional<PublicKey> publicKey(byte[] xy) {
        if (xy.length != 64) {
            return Optional.empty();
        }
        BigInteger x = new BigInteger(1, Arrays.copyOfRange(xy, 0, 32));
        BigInteger y = new BigInteger(1, Arrays.copyOfRange(xy, 32, 64));
        if (!onCurve(x, y)) {
            return Optional.empty();
        }
        try {
            return Optional.of(KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(new ECPoint(x, y), P256)));
        } catch (GeneralSecurityException e) {
            return Optional.empty();
        }
    }

    /** Verifies raw r||s over {@code data}; any malformed input is simply a failed verification. */
    public static boolean verify(PublicKey key, byte[] data, byte[] rawSignature) {
        if (rawSignature.length != 64) {
            return false;
        }
        try {
            Signature s = Signature.getInstance("SHA256withECDSAinP1363Format");
            s.initVerify(key);
            s.update(data);
            return s.verify(rawSignature);
        } catch (GeneralSecurityException | RuntimeException e) {
            return false;
        }
    }

    /** y^2 = x^3 - 3x + b (mod p), with coordinates in range: rejects invalid-curve keys early. */
    private static boolean onCurve(BigInteger x, BigInteger y) {
        BigInteger p = ((java.security.spec.ECFieldFp) P256.getCurve().getField()).getP();
        if (x.compareTo(p) >= 0 || y.compareTo(p) >= 0) {
            return false;
        }
        BigInteger rhs = x.pow(3).add(P256.getCurve().getA().multiply(x)).add(P256.getCurve().getB()).mod(p);
        return y.multiply(y).mod(p).equals(rhs);
    }
}
