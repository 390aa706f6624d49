package dev.attestmesh.relying;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Names and digests shared by the control plane that serves the mesh manifest and the relying party
 * that verifies it (docs/relying-party.md). The manifest is canonical JSON ({@link CanonicalJson}); the
 * statement's report data is {@code SHA-512("attestmesh-cp-v2" || SHA-256(manifest bytes) || nonce)}.
 */
public final class MeshManifest {
    /** The {@code format} member of every manifest this build writes. */
    public static final String FORMAT = "attestmesh-manifest-v1";
    /** Domain separation of the statement's report data (v1 bound only the root certificate hash). */
    public static final String REPORT_DATA_DOMAIN = "attestmesh-cp-v2";
    /** Length of the caller nonce, bytes. */
    public static final int NONCE_BYTES = 32;
    /** The base path of the unauthenticated endpoints on the admin port. */
    public static final String WELL_KNOWN = "/.well-known/attestmesh";

    /** The documents a manifest names, by the name they are served under. */
    public static final String TRUST_BUNDLE = "trust-bundle";
    public static final String POLICIES = "policies";
    public static final String REGISTRATIONS = "registrations";
    public static final String MESH_CONFIG = "mesh-config";
    public static final String CHECKPOINT = "checkpoint";
    /** Every document name, in the order a verifier checks them. */
    public static final List<String> DOCUMENTS = List.of(TRUST_BUNDLE, POLICIES, REGISTRATIONS, MESH_CONFIG, CHECKPOINT);

    /** What sealed the CA key at rest, as the manifest's {@code caKeySealing} states it. */
    public static final String SEALING_OPERATOR = "operator-key";
    public static final String SEALING_SNP = "sev-snp-derived-key";
    public static final String SEALING_SGX = "sgx-mrenclave-key";

    private MeshManifest() {}

    /** {@code SHA-512("attestmesh-cp-v2" || manifestSha256 || nonce)}. */
    public static byte[] reportData(byte[] manifestSha256, byte[] nonce) {
        if (manifestSha256.length != 32 || nonce.length != NONCE_BYTES) {
            throw new IllegalArgumentException("report data binds a 32-byte manifest digest and a " + NONCE_BYTES
                    + "-byte nonce (got " + manifestSha256.length + " and " + nonce.length + " bytes)");
        }
        MessageDigest md = digest("SHA-512");
        md.update(REPORT_DATA_DOMAIN.getBytes(StandardCharsets.US_ASCII));
        md.update(manifestSha256);
        md.update(nonce);
        return md.digest();
    }

    public static byte[] sha256(byte[] data) {
        return digest("SHA-256").digest(data);
    }

    /** Lower-case hex SHA-256, the form every digest in the manifest takes. */
    public static String sha256Hex(byte[] data) {
        return HexFormat.of().formatHex(sha256(data));
    }

    public static String sha256Hex(String utf8) {
        return sha256Hex(utf8.getBytes(StandardCharsets.UTF_8));
    }

    private static MessageDigest digest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(algorithm + " is not available in this JVM", e);
        }
    }
}
