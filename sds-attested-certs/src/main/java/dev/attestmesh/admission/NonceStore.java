package dev.attestmesh.admission;

import dev.attestmesh.identity.KubernetesIdentity;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Issues single-use attestation nonces: 32 random bytes, bound to the node id they were issued for,
 * valid for a short time. Consuming a nonce removes it, whatever the outcome of the attestation, so a
 * nonce can never be replayed. The number of outstanding nonces is bounded so that unauthenticated
 * callers cannot exhaust memory.
 */
public final class NonceStore {
    /** Why a nonce was not accepted. */
    public enum Rejection implements Outcome {
        UNKNOWN("the nonce was not issued by this control plane, or was already used"),
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

    /** A fresh nonce. */
    public record Issued(byte[] nonce, Instant expiresAt) {}

    /** The outcome of consuming a nonce: {@link Accepted} or a {@link Rejection}. */
    public sealed interface Outcome permits Accepted, Rejection {}

    /** What an accepted nonce was bound to when it was issued. */
    public record Accepted(String nodeId, Optional<KubernetesIdentity> kubernetes) implements Outcome {}

    private record Outstanding(String nodeId, Instant expiresAt, Optional<KubernetesIdentity> kubernetes) {}

    private final SecureRandom random = new SecureRandom();
    private final Map<String, Outstanding> outstanding = new ConcurrentHashMap<>();
    private final Clock clock;
    private final Duration ttl;
    private final int maxOutstanding;

    public NonceStore(Clock clock, Duration ttl, int maxOutstanding) {
        this.clock = clock;
        this.ttl = ttl;
        this.maxOutstanding = maxOutstanding;
    }

    /**
     * @throws IllegalStateException when too many nonces are outstanding (the caller maps it to
     *     RESOURCE_EXHAUSTED)
     */
    public Issued issue(String nodeId) {
        return issue(nodeId, Optional.empty());
    }

    /**
     * Issues a nonce bound to {@code nodeId} and, when present, to the workload identity a verified
     * service-account token proved: only an Attest with this nonce can use that identity.
     *
     * @throws IllegalStateException when too many nonces are outstanding
     */
    public Issued issue(String nodeId, Optional<KubernetesIdentity> kubernetes) {
        Instant now = clock.instant();
        if (outstanding.size() >= maxOutstanding) {
            purgeExpired(now);
            if (outstanding.size() >= maxOutstanding) {
                throw new IllegalStateException("too many outstanding attestation challenges; retry shortly");
            }
        }
        byte[] nonce = new byte[32];
        random.nextBytes(nonce);
        Instant expires = now.plus(ttl);
        outstanding.put(HexFormat.of().formatHex(nonce), new Outstanding(nodeId, expires, kubernetes));
        return new Issued(nonce, expires);
    }

    /** Consumes the nonce; empty when accepted, else the reason it was refused. */
    public Optional<Rejection> consume(String nodeId, byte[] nonce) {
        Outcome r = take(nodeId, nonce);
        return r instanceof Rejection rej ? Optional.of(rej) : Optional.empty();
    }

    /**
     * Consumes the nonce (whatever the outcome, so it is never usable again).
     *
     * @return {@link Accepted} with what the nonce was bound to, or the {@link Rejection}
     */
    public Outcome take(String nodeId, byte[] nonce) {
        if (nonce.length != 32) {
            return Rejection.MALFORMED;
        }
        Outstanding o = outstanding.remove(HexFormat.of().formatHex(nonce));
        if (o == null) {
            return Rejection.UNKNOWN;
        }
        if (clock.instant().isAfter(o.expiresAt())) {
            return Rejection.EXPIRED;
        }
        if (!o.nodeId().equals(nodeId)) {
            return Rejection.OTHER_NODE;
        }
        return new Accepted(o.nodeId(), o.kubernetes());
    }

    public int outstanding() {
        return outstanding.size();
    }

    private void purgeExpired(Instant now) {
        for (Iterator<Outstanding> it = outstanding.values().iterator(); it.hasNext(); ) {
            if (now.isAfter(it.next().expiresAt())) {
                it.remove();
            }
        }
    }
}
