package dev.attestmesh.server.admin;

import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.device.EvidenceCollectionException;
import dev.attestmesh.quote.device.EvidenceCollector;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.function.Supplier;

/**
 * The control plane's own attestation statement: TEE evidence whose report data is
 * {@code SHA-512("attestmesh-cp-v1" || SHA-256(root certificate DER) || nonce)}, so a verifier who sent
 * the 32-byte nonce learns that the mesh root CA was created and is held by a control plane running in
 * the attested TEE, now.
 */
public final class ControlPlaneAttestation {
    private static final byte[] DOMAIN = "attestmesh-cp-v1".getBytes(StandardCharsets.US_ASCII);

    /** Finds the TEE this process runs in (for the system: {@code TeeDetector.system()::detect}). */
    @FunctionalInterface
    public interface TeeSource {
        EvidenceCollector detect() throws EvidenceCollectionException;
    }

    /** A statement: evidence of type {@code tee} over {@code reportData}, for the root with {@code rootSha256}. */
    public record Statement(TeeType tee, byte[] evidence, byte[] reportData, byte[] rootSha256) {}

    /**
     * A v2 statement over a mesh manifest: evidence of type {@code tee} whose report data is
     * {@link dev.attestmesh.relying.MeshManifest#reportData}; {@code insecure} when the TEE is simulated.
     */
    public record ManifestStatement(TeeType tee, byte[] evidence, byte[] reportData, boolean insecure) {}

    private final Supplier<X509Certificate> root;
    private final TeeSource tee;

    public ControlPlaneAttestation(Supplier<X509Certificate> root, TeeSource tee) {
        this.root = root;
        this.tee = tee;
    }

    /**
     * @throws IllegalArgumentException when the nonce is not 32 bytes
     * @throws EvidenceCollectionException when the control plane does not run in a TEE (the message
     *     lists every interface looked for) or the TEE refuses
     */
    public Statement attest(byte[] nonce) throws EvidenceCollectionException {
        if (nonce.length != 32) {
            throw new IllegalArgumentException("nonce must be 32 bytes (64 hex digits), got " + nonce.length + " bytes");
        }
        byte[] rootSha256 = sha("SHA-256", der(root.get()));
        byte[] reportData = reportData(rootSha256, nonce);
        EvidenceCollector collector = tee.detect();
        return new Statement(collector.tee(), collector.collect(reportData), reportData, rootSha256);
    }

    /**
     * Evidence over {@code SHA-512("attestmesh-cp-v2" || manifestSha256 || nonce)} (docs/relying-party.md).
     *
     * @throws IllegalArgumentException when the nonce is not 32 bytes or the digest not 32 bytes
     * @throws EvidenceCollectionException when the control plane does not run in a TEE (the message lists every
     *     interface looked for) or the TEE refuses
     */
    public ManifestStatement attestManifest(byte[] manifestSha256, byte[] nonce) throws EvidenceCollectionException {
        byte[] reportData = dev.attestmesh.relying.MeshManifest.reportData(manifestSha256, nonce);
        EvidenceCollector collector = tee.detect();
        return new ManifestStatement(collector.tee(), collector.collect(reportData), reportData,
                collector.tee() == TeeType.SIM);
    }

    /** {@code SHA-512("attestmesh-cp-v1" || rootSha256 || nonce)}. */
    public static byte[] reportData(byte[] rootSha256, byte[] nonce) {
        byte[] input = new byte[DOMAIN.length + rootSha256.length + nonce.length];
        System.arraycopy(DOMAIN, 0, input, 0, DOMAIN.length);
        System.arraycopy(rootSha256, 0, input, DOMAIN.length, rootSha256.length);
        System.arraycopy(nonce, 0, input, DOMAIN.length + rootSha256.length, nonce.length);
        return sha("SHA-512", input);
    }

    private static byte[] der(X509Certificate c) {
        try {
            return c.getEncoded();
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("the mesh root certificate does not encode: " + e.getMessage(), e);
        }
    }

    private static byte[] sha(String algorithm, byte[] data) {
        try {
            return MessageDigest.getInstance(algorithm).digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is not available in this JVM", e);
        }
    }
}
