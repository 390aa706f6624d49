package dev.attestmesh.server.attest;

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
    public enum Rejection {
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

    private record Outstanding(String nodeId, Instant expiresAt) {}

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
        outstanding.put(HexFormat.of().formatHex(nonce), new Outstanding(nodeId, expires));
        return new Issued(nonce, expires);
    }

    /** Consumes the nonce; empty when accepted, else the reason it was refused. */
    public Optional<Rejection> consume(String nodeId, byte[] nonce) {
        if (nonce.length != 32) {
            return Optional.of(Rejection.MALFORMED);
        }
        Outstanding o = outstanding.remove(HexFormat.of().formatHex(nonce));
        if (o == null) {
            return Optional.of(Rejection.UNKNOWN);
        }
        if (clock.instant().isAfter(o.expiresAt())) {
            return Optional.of(Rejection.EXPIRED);
        }
        if (!o.nodeId().equals(nodeId)) {
            return Optional.of(Rejection.OTHER_NODE);
        }
        return Optional.empty();
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
