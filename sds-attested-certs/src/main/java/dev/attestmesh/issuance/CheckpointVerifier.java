package dev.attestmesh.issuance;

import dev.attestmesh.ca.CheckpointKey;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;

/**
 * Checks a checkpoint note against the mesh CA: the note is well formed, carries a signature line by the
 * key named after the checkpoint's origin with the expected key ID, every such signature verifies
 * (Ed25519 over exactly the note text), the checkpoint names the given root CA, and (when built from a
 * certificate) the signing certificate was valid when the checkpoint was signed. Signatures by other keys
 * (for example witnesses' cosignatures) are ignored, as C2SP signed-note requires.
 *
 * <p>Only a checkpoint returned by {@link #verify} may be relied on.
 */
public final class CheckpointVerifier {
    private final byte[] publicKey;
    private final String rootSha256Hex;
    private final Optional<X509Certificate> signer;
    private final X509Certificate root;

    private CheckpointVerifier(byte[] publicKey, X509Certificate root, Optional<X509Certificate> signer) {
        this.publicKey = publicKey.clone();
        this.root = Objects.requireNonNull(root);
        this.rootSha256Hex = sha256Hex(root);
        this.signer = signer;
    }

    /** A verifier for this control plane's own key (it checks what it stored before signing more). */
    public static CheckpointVerifier forKey(CheckpointKey key, X509Certificate root) {
        return new CheckpointVerifier(key.publicKey(), root, Optional.empty());
    }

    /**
     * A verifier for an outside party: {@code signer} is the checkpoint signing certificate the CA
     * publishes, {@code root} the mesh root the verifier trusts (pinned, ideally obtained out of band).
     *
     * @throws CheckpointException when {@code signer} is not a checkpoint signing certificate issued by {@code root}
     */
    public static CheckpointVerifier forCertificate(X509Certificate signer, X509Certificate root)
            throws CheckpointException {
        try {
            byte[] key = CheckpointKey.verifiedPublicKey(signer, root, signer.getNotBefore().toInstant());
            return new CheckpointVerifier(key, root, Optional.of(signer));
        } catch (IllegalArgumentException e) {
            throw new CheckpointException(e.getMessage());
        }
    }

    /** The SHA-256 (lower-case hex) of the root certificate this verifier trusts. */
    public String rootSha256Hex() {
        return rootSha256Hex;
    }

    /**
     * Verifies {@code note} and returns the checkpoint it signs.
     *
     * @throws CheckpointException naming the first check that failed
     */
    public Checkpoint verify(String note) throws CheckpointException {
        CheckpointNotes.ParsedNote parsed = CheckpointNotes.parse(note);
        Checkpoint c = parsed.checkpoint();
        String keyName = c.origin();
        int keyId = CheckpointNotes.keyId(keyName, publicKey);
        byte[] text = parsed.text().getBytes(StandardCharsets.UTF_8);
        int verified = 0;
        Optional<Integer> otherIdSameName = Optional.empty();
        for (CheckpointNotes.NoteSignature s : parsed.signatures()) {
            if (!s.keyName().equals(keyName)) {
                continue; // another party's signature: ignored
            }
            if (s.keyId() != keyId) {
                otherIdSameName = Optional.of(s.keyId());
                continue;
            }
            if (!CheckpointKey.verify(publicKey, text, s.signature())) {
                throw new CheckpointException("the checkpoint signature by " + keyName + " does not verify: the note was "
                        + "altered after signing, or it was not signed by this CA's checkpoint key");
            }
            verified++;
        }
        if (verified == 0) {
            throw new CheckpointException(otherIdSameName.isPresent()
                    ? "the checkpoint is signed as " + keyName + " by key ID " + String.format("%08x", otherIdSameName.get())
                            + ", not by this CA's checkpoint key (key ID " + String.format("%08x", keyId) + ")"
                    : "the checkpoint carries no signature by " + keyName);
        }
        if (!c.caRootSha256Hex().equals(rootSha256Hex)) {
            throw new CheckpointException("the checkpoint names the root CA with SHA-256 " + c.caRootSha256Hex()
                    + ", not the trusted root " + rootSha256Hex);
        }
        if (!c.origin().endsWith(Checkpoint.ORIGIN_SUFFIX)) {
            throw new CheckpointException("the checkpoint origin does not end with " + Checkpoint.ORIGIN_SUFFIX
                    + ": it is not an AttestMesh issuance log checkpoint");
        }
        if (signer.isPresent()) {
            try {
                CheckpointKey.verifiedPublicKey(signer.get(), root, c.timestamp());
            } catch (IllegalArgumentException e) {
                throw new CheckpointException(e.getMessage());
            }
        }
        return c;
    }

    static String sha256Hex(X509Certificate c) {
        try {
            return HexFormat.of().formatHex(CheckpointNotes.sha256(c.getEncoded()));
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException("cannot encode the root certificate", e);
        }
    }
}
