package dev.attestmesh.authz;

import dev.attestmesh.authz.peer.MeshChainVerifier;
import dev.attestmesh.authz.peer.NodeCertificate;
import dev.attestmesh.authz.peer.UntrustedText;
import dev.attestmesh.registry.NodeState;
import java.security.cert.CertificateException;
import java.security.cert.CertificateExpiredException;
import java.security.cert.CertificateNotYetValidException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.Date;
import java.util.Optional;

/**
 * Ties a leaf certificate to the registry record of the node it names: the leaf is valid now, chains to
 * the current trust bundle ({@link MeshChainVerifier}), reads as a node certificate ({@link
 * NodeCertificate}), and the node named in its claims is in the registry with that SPIFFE ID, {@link
 * NodeState#ATTESTED}, and lists the leaf among its current certificates (so a revoked or superseded
 * certificate fails). Used for the peer a Check is about and for the Envoy that calls Check. Policies,
 * freshness and insecure evidence are the caller's to judge ({@link RecordChecks}). Thread-safe.
 */
final class NodeCertificateVerifier {
    /** The outcome of {@link #verify}. */
    sealed interface Result permits Verified, Refused {}

    /** {@code certificate} is a current certificate of the attested node {@code record}. */
    record Verified(NodeCertificate certificate, NodeAuthzRecord record) implements Result {}

    /**
     * Refused; {@code reason} says why (it may name the node: for authenticated callers and logs only). {@code
     * nodeId} is the node the certificate names when the refusal read its record, null when it was refused before
     * (expired, not chaining to the trust bundle, not a node certificate).
     */
    record Refused(String reason, String nodeId) implements Result {
        Refused(String reason) {
            this(reason, null);
        }
    }

    private final RegistryView view;
    private final MeshChainVerifier chains = new MeshChainVerifier();

    NodeCertificateVerifier(RegistryView view) {
        this.view = view;
    }

    Result verify(X509Certificate leaf, Instant now) {
        try {
            leaf.checkValidity(Date.from(now));
        } catch (CertificateExpiredException e) {
            return new Refused("peer certificate expired at " + leaf.getNotAfter().toInstant());
        } catch (CertificateNotYetValidException e) {
            return new Refused("peer certificate is not valid before " + leaf.getNotBefore().toInstant());
        }
        Optional<String> chainProblem = chains.problem(leaf, view.trustBundle(), now);
        if (chainProblem.isPresent()) {
            return new Refused(chainProblem.get());
        }
        NodeCertificate cert;
        try {
            cert = NodeCertificate.read(leaf);
        } catch (CertificateException e) {
            return new Refused(e.getMessage());
        }
        String nodeId = cert.claims().nodeId();
        Optional<NodeAuthzRecord> rec = view.byNodeId(nodeId);
        if (rec.isEmpty()) {
            return new Refused("node '" + UntrustedText.quote(nodeId) + "' is not in the registry", nodeId);
        }
        NodeAuthzRecord r = rec.get();
        if (!cert.spiffeId().equals(r.spiffeId())) {
            return new Refused("peer certificate SPIFFE ID " + UntrustedText.quote(cert.spiffeId())
                    + " does not match node '" + r.nodeId() + "' (" + r.spiffeId() + ")", nodeId);
        }
        if (r.state() != NodeState.ATTESTED) { // said before the certificate-set check, whose emptiness it explains
            return new Refused("node '" + r.nodeId() + "' is " + r.state()
                    + (r.stateReason().isEmpty() ? "" : ": " + r.stateReason()), nodeId);
        }
        if (!r.certificateSha256Hex().contains(cert.sha256Hex())) {
            return new Refused("peer certificate is not a current certificate of node '" + r.nodeId()
                    + "' (superseded or revoked)", nodeId);
        }
        return new Verified(cert, r);
    }
}
