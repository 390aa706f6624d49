package dev.attestmesh.admission.challenge;

import dev.attestmesh.admission.NodeRecords;
import dev.attestmesh.admission.NonceStore;
import dev.attestmesh.identity.KubernetesIdentity;
import dev.attestmesh.registry.NodeState;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The Challenge stage of admission: decides which lane a caller draws on, applies the rate limits,
 * then issues the nonce from the store (which applies the outstanding caps).
 *
 * <p>A caller is in the <b>renewal</b> lane when, over mTLS, it presents a certificate the registry holds
 * as one of the node id's accepted certificates (current or previous) and the node is not revoked: the
 * same test {@link dev.attestmesh.admission.AttestationAdmission} uses to recognise a renewal. Every other
 * caller, including one with a valid token or with another node's certificate, is <b>anonymous</b>.
 * Anonymous Challenges for a node id cannot evict that node's renewal nonces: the per-node limit is
 * per lane.
 */
public final class ChallengeGate {
    private final NonceStore store;
    private final NodeRecords records;
    private final ChallengeRateLimiter limiter;

    public ChallengeGate(NonceStore store, NodeRecords records, ChallengeRateLimiter limiter) {
        this.store = store;
        this.records = records;
        this.limiter = limiter;
    }

    /**
     * Issues a nonce for {@code nodeId}.
     *
     * @param peer the caller's address key ({@link NonceStore.Caller#peer()})
     * @param peerCertificateSha256Hex SHA-256 (hex) of the TLS client certificate, when one was presented
     *     (the TLS layer has already checked it chains to the mesh CA)
     * @throws ChallengeLimitException when a rate limit or an outstanding cap refuses it
     */
    public NonceStore.Issued issue(String nodeId, Optional<KubernetesIdentity> kubernetes, String peer,
            Optional<String> peerCertificateSha256Hex) {
        return issue(peer, peerCertificateSha256Hex, () -> new Subject(nodeId, kubernetes));
    }

    /** The node id a Challenge asks for, and the workload identity a verified token proved. */
    public record Subject(String nodeId, Optional<KubernetesIdentity> kubernetes) {}

    /**
     * Issues a nonce for the subject {@code resolve} finds (validating the request, verifying a
     * service-account token). A caller without a client certificate is anonymous whatever it asks for, so
     * its rate limits are applied <em>before</em> {@code resolve} runs: a flood pays for no token
     * verification beyond its allowance.
     *
     * @throws ChallengeLimitException when a rate limit or an outstanding cap refuses it
     */
    public NonceStore.Issued issue(String peer, Optional<String> peerCertificateSha256Hex, Supplier<Subject> resolve) {
        if (peerCertificateSha256Hex.isEmpty()) {
            NonceStore.Caller caller = new NonceStore.Caller(NonceStore.Lane.ANONYMOUS, peer);
            limiter.acquire("", caller); // anonymous buckets are per address, not per node id
            Subject subject = resolve.get();
            return store.issue(subject.nodeId(), subject.kubernetes(), caller);
        }
        Subject subject = resolve.get();
        NonceStore.Caller caller = new NonceStore.Caller(laneOf(subject.nodeId(), peerCertificateSha256Hex), peer);
        limiter.acquire(subject.nodeId(), caller);
        return store.issue(subject.nodeId(), subject.kubernetes(), caller);
    }

    /** The lane a caller presenting {@code peerCertificateSha256Hex} draws on when asking for {@code nodeId}. */
    public NonceStore.Lane laneOf(String nodeId, Optional<String> peerCertificateSha256Hex) {
        if (peerCertificateSha256Hex.isEmpty()) {
            return NonceStore.Lane.ANONYMOUS; // no registry lookup for the anonymous flood
        }
        boolean renewal = records.standing(nodeId)
                .filter(s -> s.state() != NodeState.REVOKED)
                .filter(s -> s.acceptedCertificateSha256Hex().contains(peerCertificateSha256Hex.get()))
                .isPresent();
        return renewal ? NonceStore.Lane.RENEWAL : NonceStore.Lane.ANONYMOUS;
    }

    /** The store nonces are issued from (and consumed by admission). */
    public NonceStore store() {
        return store;
    }
}
