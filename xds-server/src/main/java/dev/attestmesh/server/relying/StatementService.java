package dev.attestmesh.server.relying;

import dev.attestmesh.quote.device.EvidenceCollectionException;
import dev.attestmesh.relying.MeshManifest;
import dev.attestmesh.server.admin.ControlPlaneAttestation;
import java.util.HexFormat;

/**
 * Answers a relying party's request for the control plane's statement: builds the current manifest,
 * collects evidence binding its digest and the caller's nonce, within the {@link StatementLimiter}.
 * The HTTP and gRPC handlers only translate to and from this.
 */
public final class StatementService {
    private final ManifestSnapshots manifests;
    private final ControlPlaneAttestation attestation;
    private final StatementLimiter limiter;

    public StatementService(ManifestSnapshots manifests, ControlPlaneAttestation attestation, StatementLimiter limiter) {
        this.manifests = manifests;
        this.attestation = attestation;
        this.limiter = limiter;
    }

    /** A statement with the manifest it binds. */
    public record Answer(ManifestSnapshot manifest, ControlPlaneAttestation.ManifestStatement statement, byte[] nonce) {}

    /** The request was refused before any evidence was collected (bad nonce). */
    public static final class BadNonceException extends Exception {
        BadNonceException(String message) {
            super(message);
        }
    }

    /**
     * Parses a nonce given as hex: exactly {@value MeshManifest#NONCE_BYTES} bytes, checked before decoding so an
     * oversized value costs nothing.
     */
    public static byte[] parseNonce(String hex) throws BadNonceException {
        if (hex == null || hex.length() != 2 * MeshManifest.NONCE_BYTES) {
            throw new BadNonceException("nonce must be " + 2 * MeshManifest.NONCE_BYTES + " hex digits ("
                    + MeshManifest.NONCE_BYTES + " random bytes), got " + (hex == null ? "none" : hex.length() + " characters"));
        }
        try {
            return HexFormat.of().parseHex(hex);
        } catch (IllegalArgumentException e) {
            throw new BadNonceException("nonce must be " + 2 * MeshManifest.NONCE_BYTES + " hex digits");
        }
    }

    /**
     * @throws BadNonceException when the nonce is not 32 bytes
     * @throws StatementLimiter.LimitedException when over the rate or concurrency limit
     * @throws EvidenceCollectionException when the control plane is not in a TEE (the message lists what was
     *     looked for) or the TEE refused
     */
    public Answer statement(byte[] nonce) throws BadNonceException, StatementLimiter.LimitedException,
            EvidenceCollectionException {
        return statement(nonce, null);
    }

    /** As {@link #statement(byte[])}, counting the request against {@code peer}'s address bucket (null: unknown). */
    public Answer statement(byte[] nonce, String peer) throws BadNonceException, StatementLimiter.LimitedException,
            EvidenceCollectionException {
        if (nonce.length != MeshManifest.NONCE_BYTES) {
            throw new BadNonceException("nonce must be " + MeshManifest.NONCE_BYTES + " bytes, got " + nonce.length);
        }
        try (StatementLimiter.Permit permit = limiter.acquire(peer)) {
            ManifestSnapshot m = manifests.current();
            return new Answer(m, attestation.attestManifest(HexFormat.of().parseHex(m.sha256()), nonce), nonce.clone());
        }
    }

    public ManifestSnapshots manifests() {
        return manifests;
    }
}
