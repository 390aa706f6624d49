package dev.attestmesh.admission.challenge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.attestmesh.admission.AdmittedNode;
import dev.attestmesh.admission.NodeRecords;
import dev.attestmesh.admission.NonceStore;
import dev.attestmesh.admission.NonceStore.Lane;
import dev.attestmesh.registry.NodeState;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ChallengeGateTest {
    static final String CURRENT = "aa".repeat(32);
    static final String PREVIOUS = "bb".repeat(32);
    static final String STRANGER = "cc".repeat(32);

    final FakeTime time = new FakeTime();
    final Map<String, NodeRecords.Standing> standings = new HashMap<>();
    final NodeRecords records = new NodeRecords() {
        @Override
        public Optional<Standing> standing(String nodeId) {
            return Optional.ofNullable(standings.get(nodeId));
        }

        @Override
        public int liveInstances(String spiffeId, String excludingNodeId, Instant now) {
            return 0;
        }

        @Override
        public void record(AdmittedNode node) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void withdraw(String nodeId, String reason) {
            throw new UnsupportedOperationException();
        }
    };
    /** Anonymous: 5 in all at once, 5 outstanding; renewals burst 2 per node. */
    final ChallengeLimits limits = new ChallengeLimits(4, 100, 5, 10, 100, 100, 1, 5, 1, 2);
    final InMemoryNonceStore store = new InMemoryNonceStore(time, Duration.ofMinutes(2), limits);
    final ChallengeGate gate = new ChallengeGate(store, records, new ChallengeRateLimiter(limits, time, Runnable::run));

    void standing(String nodeId, NodeState state) {
        standings.put(nodeId, new NodeRecords.Standing(nodeId, state, "", "spiffe://x/node/" + nodeId, "",
                Set.of(CURRENT, PREVIOUS), time.instant().plusSeconds(3600)));
    }

    @Test
    void onlyTheNodesOwnAcceptedCertificateOpensTheRenewalLane() {
        standing("n", NodeState.ATTESTED);
        standing("gone", NodeState.REVOKED);
        assertEquals(Lane.RENEWAL, gate.laneOf("n", Optional.of(CURRENT)));
        assertEquals(Lane.RENEWAL, gate.laneOf("n", Optional.of(PREVIOUS)), "the overlap certificate too");
        assertEquals(Lane.ANONYMOUS, gate.laneOf("n", Optional.empty()));
        assertEquals(Lane.ANONYMOUS, gate.laneOf("n", Optional.of(STRANGER)), "another node's certificate");
        assertEquals(Lane.ANONYMOUS, gate.laneOf("unknown", Optional.of(CURRENT)));
        assertEquals(Lane.ANONYMOUS, gate.laneOf("gone", Optional.of(CURRENT)), "revoked nodes get no reserve");
    }

    @Test
    void renewalsAreIssuedWhileAnonymousTrafficIsRefused() {
        standing("n", NodeState.ATTESTED);
        for (int i = 0; i < 5; i++) {
            gate.issue("a" + i, Optional.empty(), "192.0.2." + i, Optional.empty());
        }
        // Anonymous capacity and the shared bucket are spent; a certificate of another node does not help.
        assertEquals(ChallengeLimits.RATE, assertThrows(ChallengeLimitException.class,
                () -> gate.issue("a9", Optional.empty(), "192.0.2.9", Optional.of(STRANGER))).limit());
        time.advance(Duration.ofSeconds(5));
        assertEquals(ChallengeLimits.MAX_OUTSTANDING, assertThrows(ChallengeLimitException.class,
                () -> gate.issue("a9", Optional.empty(), "192.0.2.9", Optional.empty())).limit());
        NonceStore.Issued renewal = gate.issue("n", Optional.empty(), "192.0.2.1", Optional.of(CURRENT));
        assertEquals(1, store.outstanding(Lane.RENEWAL));
        assertInstanceOf(NonceStore.Accepted.class, store.take("n", renewal.nonce()));
    }

    @Test
    void anAnonymousCallerOverItsRateIsRefusedBeforeItsRequestIsResolved() {
        AtomicInteger resolved = new AtomicInteger();
        for (int i = 0; i < 5; i++) {
            String node = "a" + i;
            NonceStore.Issued issued = gate.issue("192.0.2.1", Optional.empty(), () -> {
                resolved.incrementAndGet();
                return new ChallengeGate.Subject(node, Optional.empty());
            });
            assertEquals(node, issued.nodeId());
        }
        ChallengeLimitException e = assertThrows(ChallengeLimitException.class, () -> gate.issue("192.0.2.1",
                Optional.empty(), () -> {
                    resolved.incrementAndGet(); // stands for verifying a service-account token
                    return new ChallengeGate.Subject("a5", Optional.empty());
                }));
        assertEquals(ChallengeLimits.RATE, e.limit());
        assertEquals(5, resolved.get(), "the refused request was never resolved");
    }
}
