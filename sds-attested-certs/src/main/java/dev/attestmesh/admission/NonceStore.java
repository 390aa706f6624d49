package dev.attestmesh.admission;

import dev.attestmesh.identity.KubernetesIdentity;
import java.time.Instant;
import java.util.Optional;

/**
 * Issues single-use attestation nonces: 32 random bytes, bound to the node id they were issued for (and
 * the workload identity a verified service-account token proved), valid for a short time. Consuming a
 * nonce removes it, whatever the outcome of the attestation, so a nonce can never be replayed.
 *
 * <p>Challenges are unauthenticated, so what they may hold is bounded per {@link Lane}: anonymous callers
 * share one capacity, renewals over mTLS (the caller presents the node's current certificate) have their
 * own, so a flood of anonymous Challenges never starves a renewal. Within a lane a node id holds at most
 * {@link dev.attestmesh.admission.challenge.ChallengeLimits#perNode()} nonces (a new one evicts its
 * oldest), and one peer address at most {@link dev.attestmesh.admission.challenge.ChallengeLimits#perPeer()}
 * anonymous ones. Implementations: {@code InMemoryNonceStore} for one replica, a database-backed store
 * for replicas sharing PostgreSQL (a Challenge on one replica, the Attest on another).
 */
public interface NonceStore extends AutoCloseable {
    /** Why a nonce was not accepted. */
    enum Rejection implements Outcome {
        UNKNOWN("the nonce was not issued by this control plane, was already used, or expired and was purged"),
        EXPIRED("the nonce expired; ask for a new Challenge"),
        OTHER_NODE("the nonce was issued for another node id"),
        MALFORMED("the nonce must be 32 bytes");

        private final String message;

        Rejection(String message) {
            this.message = message;
        }

        public String message() {
            return message;
        }
    }

    /** Which capacity a Challenge draws on. */
    enum Lane {
        /** Callers without a node certificate for the node id they ask about: first attestations, strangers. */
        ANONYMOUS,
        /** Callers presenting, over mTLS, a current certificate of the node id they ask about. */
        RENEWAL
    }

    /**
     * Who asked for a nonce.
     *
     * @param lane the capacity it draws on
     * @param peer the caller's address key (an IPv4 address, an IPv6 /64, or another bounded label):
     *     anonymous nonces are counted per peer
     */
    record Caller(Lane lane, String peer) {
        /** Longest peer key accepted (an IPv6 /64 key is at most 43 characters). */
        public static final int MAX_PEER_CHARS = 64;

        public Caller {
            java.util.Objects.requireNonNull(lane, "lane");
            if (peer == null || peer.isEmpty() || peer.length() > MAX_PEER_CHARS) {
                throw new IllegalArgumentException("peer key must be 1-" + MAX_PEER_CHARS + " characters");
            }
        }
    }

    /** A fresh nonce, and the node id it is bound to. */
    record Issued(byte[] nonce, Instant expiresAt, String nodeId) {}

    /** The outcome of consuming a nonce: {@link Accepted} or a {@link Rejection}. */
    sealed interface Outcome permits Accepted, Rejection {}

    /** What an accepted nonce was bound to when it was issued. */
    record Accepted(String nodeId, Optional<KubernetesIdentity> kubernetes) implements Outcome {}

    /**
     * Issues a nonce bound to {@code nodeId} and, when present, to the workload identity a verified
     * service-account token proved: only an Attest with this nonce can use that identity. When the node
     * id already holds its lane's limit of nonces, its oldest is evicted (no longer accepted).
     *
     * @throws dev.attestmesh.admission.challenge.ChallengeLimitException when the caller's peer address
     *     or the lane holds as many nonces as allowed (the caller maps it to RESOURCE_EXHAUSTED)
     */
    Issued issue(String nodeId, Optional<KubernetesIdentity> kubernetes, Caller caller);

    /**
     * Consumes the nonce (whatever the outcome, so it is never usable again). Atomic: of concurrent
     * consumers of one nonce, on any replica sharing the store, at most one gets {@link Accepted}.
     *
     * @return {@link Accepted} with what the nonce was bound to, or the {@link Rejection}
     */
    Outcome take(String nodeId, byte[] nonce);

    /** Consumes the nonce; empty when accepted, else the reason it was refused. */
    default Optional<Rejection> consume(String nodeId, byte[] nonce) {
        Outcome r = take(nodeId, nonce);
        return r instanceof Rejection rej ? Optional.of(rej) : Optional.empty();
    }

    /** Unexpired nonces outstanding in the lane (for a shared store: across replicas, possibly a second old). */
    int outstanding(Lane lane);

    /** Unexpired nonces outstanding in both lanes. */
    default int outstanding() {
        return outstanding(Lane.ANONYMOUS) + outstanding(Lane.RENEWAL);
    }

    /** Stops background work (purging); the store is not used afterwards. */
    @Override
    default void close() {}
}
