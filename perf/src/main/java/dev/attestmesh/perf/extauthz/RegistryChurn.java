package dev.attestmesh.perf.extauthz;

import dev.attestmesh.authz.NodeAuthzRecord;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.registry.NodeState;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Registry churn next to a Check load: {@code rate} node changes a second (nodes attesting, renewing, being
 * revoked elsewhere in the mesh), written to an {@link InMemoryRegistryView} by one thread for a bounded time, as
 * a control plane's registry sees them in a large mesh. The changed nodes are not the ones the load checks, so the
 * decisions it asks for stay valid; what a change costs those decisions is the decision cache's invalidation.
 * Paced by the intended time of each change (no catch-up burst after a stall beyond one period's worth).
 */
public final class RegistryChurn implements AutoCloseable {
    /** Distinct churned node ids: a mesh's other nodes. */
    static final int CHURNED_NODES = 10_000;

    private final Thread thread;
    private final AtomicLong changes = new AtomicLong();
    private volatile boolean stop;

    private RegistryChurn(InMemoryRegistryView view, int rate, Duration limit) {
        long periodNanos = 1_000_000_000L / rate;
        long end = System.nanoTime() + limit.toNanos();
        Instant expires = Instant.now().plus(Duration.ofHours(24));
        Map<String, Long> policies = Map.of("default", 1L, "production", 1L);
        thread = Thread.ofPlatform().name("registry-churn").daemon().start(() -> {
            long next = System.nanoTime();
            for (long i = 0; !stop && System.nanoTime() < end; i++) {
                String id = "churn-" + (i % CHURNED_NODES);
                view.put(new NodeAuthzRecord(id, "spiffe://" + SyntheticMesh.TRUST_DOMAIN + "/node/" + id,
                        i % 10 == 9 ? NodeState.REVOKED : NodeState.ATTESTED, "", TeeType.SIM, "ab".repeat(48), policies,
                        Set.of(Long.toHexString(i)), expires, "nodes", expires));
                changes.incrementAndGet();
                next = Math.max(next + periodNanos, System.nanoTime() - periodNanos);
                long wait = next - System.nanoTime();
                if (wait > 0) {
                    LockSupport.parkNanos(wait);
                }
            }
        });
    }

    /** Starts {@code rate} changes a second for at most {@code limit}; {@code rate} 0 starts nothing. */
    public static RegistryChurn start(InMemoryRegistryView view, int rate, Duration limit) {
        if (rate < 0 || rate > 1_000_000) {
            throw new IllegalArgumentException("churn rate must be in [0, 1000000], was " + rate);
        }
        return rate == 0 ? null : new RegistryChurn(view, rate, limit);
    }

    /** Changes made so far. */
    public long changes() {
        return changes.get();
    }

    @Override
    public void close() throws InterruptedException {
        stop = true;
        thread.join(5_000);
    }
}
