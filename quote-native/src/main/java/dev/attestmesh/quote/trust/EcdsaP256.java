package dev.attestmesh.quote.trust;

import java.io.IOException;
import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.ECPrivateKey;
import java.security.cert.CRLException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import java.util.Optional;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.crypto.ec.CustomNamedCurves;
import org.bouncycastle.crypto.params.AsymmetricKeyParameter;
import org.bouncycastle.crypto.params.ECDomainParameters;
import org.bouncycastle.crypto.params.ECPublicKeyParameters;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.params.ECPrivateKeyParameters;
import org.bouncycastle.crypto.signers.ECDSASigner;
import org.bouncycastle.crypto.signers.HMacDSAKCalculator;
import org.bouncycastle.crypto.signers.StandardDSAEncoding;
import org.bouncycastle.crypto.util.PublicKeyFactory;
import org.bouncycastle.math.ec.ECPoint;
import org.bouncycastle.util.BigIntegers;

/**
 * ECDSA P-256 / SHA-256 verification for Intel DCAP: raw x||y public keys, raw r||s signatures
 * (both big-endian), and the DER signatures of PCK certificates and CRLs; and signing for the mesh CA,
 * the node agent's CSRs and the simulated TEE.
 *
 * <p>Uses BouncyCastle's lightweight ECDSA with its specialised P-256 field arithmetic, which
 * measured several times faster here than the JDK's SunEC provider. A {@link VerifyingKey} keeps
 * BouncyCastle's per-point precomputation, so reusing one for a cached PCK or attestation key makes
 * later verifications cheaper. Malformed keys or signatures are failed verifications, never
 * exceptions.
 *
 * <p>Signing ({@link SigningKey}) and verification run in the system's OpenSSL where it loads and passes
 * its self-test ({@link NativeP256}): 28 us per signature against 64 us in BouncyCastle, with
 * hedged nonces (derived from the private key, the digest and fresh random bytes). Otherwise
 * BouncyCastle signs with deterministic nonces (RFC 6979, HMAC-SHA256) and its fixed-point comb
 * multiplication of the generator (1.8x faster than SunEC's signing here). Either way a signature never
 * depends on the quality of a random source alone.
 */
public final class EcdsaP256 {
    private static final X9ECParameters CURVE = CustomNamedCurves.getByName("secp256r1");
    private static final ECDomainParameters DOMAIN =
            new ECDomainParameters(CURVE.getCurve(), CURVE.getG(), CURVE.getN(), CURVE.getH(), CURVE.getSeed());
    /** ecdsa-with-SHA256, the only signature algorithm in Intel's SGX PKI. */
    private static final String ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";

    private EcdsaP256() {}

    /** A validated P-256 public key, ready for repeated verification. Immutable and thread-safe. */
    public static final class VerifyingKey {
        private final ECPublicKeyParameters params;
        /** 04 || x || y, as OpenSSL takes the key ({@link NativeP256}). */
        private final byte[] point;

        private VerifyingKey(ECPublicKeyParameters params) {
            this.params = params;
            this.point = params.getQ().getEncoded(false);
        }
    }

    /**
     * A P-256 private key ready for repeated signing. Immutable and thread-safe; the scalar stays inside
     * this object (never logged, never exported by it).
     */
    public static final class SigningKey {
        private final ECPrivateKeyParameters params;

        private SigningKey(ECPrivateKeyParameters params) {
            this.params = params;
        }

        /** ECDSA with SHA-256 over {@code data}; the signature in DER (as X.509 and PKCS#10 carry it). */
        public byte[] signDer(byte[] data) {
            byte[] digest = sha256(data);
            Optional<byte[]> der = signNatively(digest);
            return der.isPresent() ? der.get() : encode(signWithBouncyCastle(digest));
        }

        /** ECDSA with SHA-256 over {@code data}; the signature as raw r||s, 32 bytes each. */
        public byte[] signRaw(byte[] data) {
            BigInteger[] rs;
            try {
                rs = StandardDSAEncoding.INSTANCE.decode(DOMAIN.getN(), signDer(data));
            } catch (IOException e) {
                throw new IllegalStateException("an ECDSA signature just made is not strict DER", e);
            }
            byte[] out = new byte[64];
            BigIntegers.asUnsignedByteArray(rs[0], out, 0, 32);
            BigIntegers.asUnsignedByteArray(rs[1], out, 32, 32);
            return out;
        }

        /** BouncyCastle's RFC 6979 signature in DER, whatever the backend; for the self-test and tests. */
        byte[] signDerWithBouncyCastle(byte[] data) {
            return encode(signWithBouncyCastle(sha256(data)));
        }

        private Optional<byte[]> signNatively(byte[] digest) {
            Optional<NativeP256> openssl = NativeP256.instance();
            if (openssl.isEmpty()) {
                return Optional.empty();
            }
            byte[] scalar = BigIntegers.asUnsignedByteArray(32, params.getD());
            try {
                return openssl.get().sign(scalar, digest);
            } finally {
                Arrays.fill(scalar, (byte) 0);
            }
        }

        private BigInteger[] signWithBouncyCastle(byte[] digest) {
            ECDSASigner signer = new ECDSASigner(new HMacDSAKCalculator(new SHA256Digest()));
            signer.init(true, params);
            return signer.generateSignature(digest);
        }

        private static byte[] encode(BigInteger[] rs) {
            try {
                return StandardDSAEncoding.INSTANCE.encode(DOMAIN.getN(), rs[0], rs[1]);
            } catch (IOException e) {
                throw new IllegalStateException("DER encoding of an ECDSA signature failed", e);
            }
        }
    }

    /**
     * The signing key for a JCA P-256 private key, or empty if the key is not an EC key on P-256 or does
     * not expose its scalar (a hardware-backed key); callers then sign through JCA.
     */
    public static Optional<SigningKey> signingKey(PrivateKey key) {
        if (!(key instanceof ECPrivateKey ec) || ec.getS() == null || ec.getParams() == null
                || !ec.getParams().getOrder().equals(DOMAIN.getN())
                || !ec.getParams().getGenerator().getAffineX().equals(
                        DOMAIN.getG().normalize().getAffineXCoord().toBigInteger())) {
            return Optional.empty();
        }
        BigInteger d = ec.getS();
        if (d.signum() <= 0 || d.compareTo(DOMAIN.getN()) >= 0) {
            return Optional.empty();
        }
        return Optional.of(new SigningKey(new ECPrivateKeyParameters(d, DOMAIN)));
    }

    /** The key for raw x||y, or empty if it is not 64 bytes or not a point on P-256. */
    public static Optional<VerifyingKey> fromRaw(byte[] xy) {
        if (xy.length != 64) {
            return Optional.empty();
        }
        try {
            ECPoint q = DOMAIN.getCurve().validatePoint(new BigInteger(1, Arrays.copyOfRange(xy, 0, 32)),
                    new BigInteger(1, Arrays.copyOfRange(xy, 32, 64)));
            return Optional.of(new VerifyingKey(new ECPublicKeyParameters(q, DOMAIN)));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** The key of a P-256 certificate, or empty if the certificate's key is not P-256. */
    public static Optional<VerifyingKey> fromPublicKey(PublicKey key) {
        try {
            AsymmetricKeyParameter p = PublicKeyFactory.createKey(key.getEncoded());
            // Same group order and generator means P-256, whichever curve implementation BC chose.
            if (p instanceof ECPublicKeyParameters ec && ec.getParameters().getN().equals(DOMAIN.getN())
                    && ec.getParameters().getG().normalize().getAffineXCoord().toBigInteger()
                            .equals(DOMAIN.getG().normalize().getAffineXCoord().toBigInteger())) {
                ECPoint q = DOMAIN.getCurve().validatePoint(ec.getQ().getAffineXCoord().toBigInteger(),
                        ec.getQ().getAffineYCoord().toBigInteger());
                return Optional.of(new VerifyingKey(new ECPublicKeyParameters(q, DOMAIN)));
            }
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** Verifies raw r||s (64 bytes) over {@code data}. */
    public static boolean verifyRaw(VerifyingKey key, byte[] data, byte[] rs) {
        if (rs.length != 64) {
            return false;
        }
        BigInteger r = new BigInteger(1, Arrays.copyOfRange(rs, 0, 32));
        BigInteger s = new BigInteger(1, Arrays.copyOfRange(rs, 32, 64));
        Optional<NativeP256> openssl = NativeP256.instance();
        if (openssl.isPresent()) {
            try {
                return openssl.get().verify(key.point, sha256(data), StandardDSAEncoding.INSTANCE.encode(DOMAIN.getN(), r, s));
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }
        return verify(key, sha256(data), r, s);
    }

    /**
     * Verifies a DER ECDSA signature over {@code data}. The encoding must be strict DER with r and s in
     * range (BouncyCastle's decoder checks both), whichever library then does the arithmetic.
     */
    public static boolean verifyDer(VerifyingKey key, byte[] data, byte[] der) {
        try {
            BigInteger[] rs = StandardDSAEncoding.INSTANCE.decode(DOMAIN.getN(), der);
            Optional<NativeP256> openssl = NativeP256.instance();
            return openssl.isPresent() ? openssl.get().verify(key.point, sha256(data), der)
                    : verify(key, sha256(data), rs[0], rs[1]);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** BouncyCastle's answer for a DER signature of a 32-byte digest under an uncompressed point (the self-test). */
    static boolean verifyDigestWithBouncyCastle(byte[] uncompressedPoint, byte[] digest, byte[] der) {
        try {
            ECPoint q = DOMAIN.getCurve().decodePoint(uncompressedPoint);
            BigInteger[] rs = StandardDSAEncoding.INSTANCE.decode(DOMAIN.getN(), der);
            return verify(new VerifyingKey(new ECPublicKeyParameters(q, DOMAIN)), digest, rs[0], rs[1]);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Which library signs and verifies P-256 signatures in this process: OpenSSL's version string, or BouncyCastle. */
    public static String verificationBackend() {
        return NativeP256.instance().map(v -> v.version() + " (libcrypto, native)").orElse("BouncyCastle");
    }

    /** BouncyCastle's answer for the same inputs as {@link #verifyDer}, for tests that compare the two. */
    static boolean verifyDerWithBouncyCastle(VerifyingKey key, byte[] data, byte[] der) {
        try {
            BigInteger[] rs = StandardDSAEncoding.INSTANCE.decode(DOMAIN.getN(), der);
            return verify(key, sha256(data), rs[0], rs[1]);
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The uncompressed point of {@code key}, for tests. */
    static byte[] point(VerifyingKey key) {
        return key.point.clone();
    }

    /**
     * A signature for {@link NativeP256}'s load-time check, made and checked here with
     * BouncyCastle: a fixed key (derived from a label, not secret), a fixed message, RFC 6979.
     */
    record SelfTestVector(byte[] point, byte[] digest, byte[] signature, byte[] scalar) {}

    static SelfTestVector selfTestVector() {
        BigInteger d = new BigInteger(1, sha256("attestmesh native ECDSA self-test key".getBytes(
                java.nio.charset.StandardCharsets.US_ASCII))).mod(DOMAIN.getN().subtract(BigInteger.ONE)).add(BigInteger.ONE);
        SigningKey signer = new SigningKey(new ECPrivateKeyParameters(d, DOMAIN));
        byte[] message = "attestmesh native ECDSA self-test message".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] der = signer.signDerWithBouncyCastle(message);
        VerifyingKey key = new VerifyingKey(new ECPublicKeyParameters(DOMAIN.getG().multiply(d).normalize(), DOMAIN));
        if (!verifyDerWithBouncyCastle(key, message, der)) {
            throw new IllegalStateException("BouncyCastle did not verify its own self-test signature");
        }
        return new SelfTestVector(key.point.clone(), sha256(message), der, BigIntegers.asUnsignedByteArray(32, d));
    }

    /** Whether {@code cert} is signed with ecdsa-with-SHA256 by {@code issuer}. */
    public static boolean verifyCertificate(X509Certificate cert, VerifyingKey issuer) {
        try {
            return ECDSA_WITH_SHA256.equals(cert.getSigAlgOID())
                    && verifyDer(issuer, cert.getTBSCertificate(), cert.getSignature());
        } catch (CertificateEncodingException e) {
            return false;
        }
    }

    /** Whether {@code crl} is signed with ecdsa-with-SHA256 by {@code issuer}. */
    public static boolean verifyCrl(X509CRL crl, VerifyingKey issuer) {
        try {
            return ECDSA_WITH_SHA256.equals(crl.getSigAlgOID()) && verifyDer(issuer, crl.getTBSCertList(), crl.getSignature());
        } catch (CRLException e) {
            return false;
        }
    }

    /** Convenience for callers holding a JCA key; prefer a cached {@link VerifyingKey} on hot paths. */
    public static boolean verify(PublicKey key, byte[] data, byte[] rs) {
        return fromPublicKey(key).map(k -> verifyRaw(k, data, rs)).orElse(false);
    }

    private static boolean verify(VerifyingKey key, byte[] digest, BigInteger r, BigInteger s) {
        try {
            ECDSASigner signer = new ECDSASigner();
            signer.init(false, key.params);
            return signer.verifySignature(digest, r, s);
        } catch (RuntimeException e) {
            return false;
        }
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by every Java platform", e);
        }
    }
}
