package dev.attestmesh.perf.faults;

import dev.attestmesh.agent.AttestationRefusedException;
import dev.attestmesh.agent.NodeAgent;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Node agents attesting on {@code threads} threads, each a new node id ({@code PREFIX1}, {@code PREFIX2}, ...) with a
 * new key, one after another, recording every outcome with its time. A refused or failed call is retried by the
 * next node after a 100 ms pause, as an agent backs off. Bounded by {@code maxAttestations} calls and by {@link
 * #stop()}.
 */
final class AttestLoad implements AutoCloseable {
    /** The gRPC status code name of an answered call. */
    static final String OK = "OK";

    /** One Attest: when it started and ended ({@link System#nanoTime()}), and how it was answered. */
    record Event(long startNanos, long endNanos, String nodeId, String code, Optional<NodeAgent> agent, String message) {
        boolean ok() {
            return OK.equals(code);
        }
    }

    private final ConcurrentLinkedQueue<Event> events = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicInteger next = new AtomicInteger();
    private final List<Thread> threads = new ArrayList<>();

    AttestLoad(String target, List<X509Certificate> caBundle, Path dir, String prefix, int threadCount,
            int maxAttestations) {
        for (int t = 0; t < threadCount; t++) {
            Thread thread = Thread.ofPlatform().daemon().name("fault-attest-" + t).start(() -> {
                for (int i = next.incrementAndGet(); i <= maxAttestations && !stop.get(); i = next.incrementAndGet()) {
                    String id = prefix + i;
                    NodeAgent agent = FaultMesh.agent(target, caBundle, dir, id);
                    long start = System.nanoTime();
                    try {
                        agent.attestOnce();
                        events.add(new Event(start, System.nanoTime(), id, OK, Optional.of(agent), ""));
                    } catch (AttestationRefusedException e) {
                        events.add(new Event(start, System.nanoTime(), id, e.code(), Optional.empty(),
                                String.valueOf(e.getMessage())));
                        pause();
                    } catch (RuntimeException e) {
                        events.add(new Event(start, System.nanoTime(), id, "CLIENT_" + e.getClass().getSimpleName(),
                                Optional.empty(), String.valueOf(e.getMessage())));
                        pause();
                    }
                }
            });
            threads.add(thread);
        }
    }

    private static void pause() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    List<Event> events() {
        return List.copyOf(events);
    }

    /** The first successful attestation that started at or after {@code nanos}. */
    Optional<Event> firstOkStartedAfter(long nanos) {
        return events.stream().filter(e -> e.ok() && e.startNanos() >= nanos)
                .min((a, b) -> Long.compare(a.endNanos(), b.endNanos()));
    }

    /** Stops the load and waits (at most 60 s) for calls in flight to end. */
    void stop() throws InterruptedException {
        stop.set(true);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (Thread t : threads) {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        }
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
