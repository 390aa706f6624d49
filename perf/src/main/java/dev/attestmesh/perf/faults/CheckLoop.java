package dev.attestmesh.perf.faults;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * Asks one ext_authz Check every {@code periodMillis} on its own thread and records each decision with its time,
 * until {@link #stop()}. A call that fails (the server is unreachable) is recorded as not allowed, with its error.
 */
final class CheckLoop implements AutoCloseable {
    /** One decision: when it was answered ({@link System#nanoTime()}), whether it allowed, and the deny reason. */
    record Decision(long nanos, boolean allowed, String message) {}

    /** What a Check answered. */
    record Answer(boolean allowed, String message) {}

    private final ConcurrentLinkedQueue<Decision> decisions = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final Thread thread;

    CheckLoop(Supplier<Answer> check, long periodMillis) {
        thread = Thread.ofPlatform().daemon().name("fault-check").start(() -> {
            while (!stop.get()) {
                Answer a;
                try {
                    a = check.get();
                } catch (RuntimeException e) {
                    a = new Answer(false, "call failed: " + e.getMessage());
                }
                decisions.add(new Decision(System.nanoTime(), a.allowed(), a.message()));
                try {
                    Thread.sleep(periodMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    List<Decision> decisions() {
        return List.copyOf(decisions);
    }

    /** The first decision at or after {@code nanos} that {@code allowed} (or denied, when false) with a reason starting so. */
    Optional<Decision> first(long nanos, boolean allowed, String messagePrefix) {
        return decisions.stream().filter(d -> d.nanos() >= nanos && d.allowed() == allowed
                && d.message().startsWith(messagePrefix)).findFirst();
    }

    void stop() throws InterruptedException {
        stop.set(true);
        thread.join(TimeUnit.SECONDS.toMillis(30));
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }
}
