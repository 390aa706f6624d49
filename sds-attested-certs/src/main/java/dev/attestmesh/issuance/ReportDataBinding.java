package dev.attestmesh.issuance;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The 64 bytes a node agent must place in its evidence's report data to bind the evidence to a
 * control-plane nonce and to the CSR key:
 * {@code SHA-512("attestmesh-v1" || nonce || SHA-256(SubjectPublicKeyInfo DER))}. A verifier
 * compares the evidence's report data with {@link #expected} in constant time.
 */
public final class ReportDataBinding {
    private static final byte[] DOMAIN = "attestmesh-v1".getBytes(StandardCharsets.US_ASCII);

    private ReportDataBinding() {}

    /** The expected report data (64 bytes). */
    public static byte[] expected(byte[] nonce, byte[] subjectPublicKeyInfoDer) {
        try {
            byte[] keyHash = MessageDigest.getInstance("SHA-256").digest(subjectPublicKeyInfoDer);
            MessageDigest sha512 = MessageDigest.getInstance("SHA-512");
            sha512.update(DOMAIN);
            sha512.update(nonce);
            sha512.update(keyHash);
            return sha512.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-2 is not available in this JVM", e);
        }
    }

    /** Whether {@code reportData} equals {@link #expected}, compared in constant time. */
    public static boolean matches(byte[] reportData, byte[] nonce, byte[] subjectPublicKeyInfoDer) {
        return MessageDigest.isEqual(reportData, expected(nonce, subjectPublicKeyInfoDer));
    }
}
