package dev.attestmesh.perf.faults;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * Asks one ext_authz Check every {@code periodMillis} on its own thread and counts the decisions, until {@link
 * #stop()}; when {@code record} is set it also keeps each decision with its time (for runs of minutes, not a soak).
 * A call that fails (the server is unreachable) counts as not allowed, with its error.
 */
final class CheckLoop implements AutoCloseable {
    /** One decision: when it was answered ({@link System#nanoTime()}), whether it allowed, and the deny reason. */
    record Decision(long nanos, boolean allowed, String message) {}

    /** What a Check answered. */
    record Answer(boolean allowed, String message) {}

    private final ConcurrentLinkedQueue<Decision> decisions = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final LongAdder allowed = new LongAdder();
    private final LongAdder denied = new LongAdder();
    private final AtomicReference<String> firstDenial = new AtomicReference<>("");
    private final Thread thread;

    CheckLoop(Supplier<Answer> check, long periodMillis) {
        this(check, periodMillis, true);
    }

    CheckLoop(Supplier<Answer> check, long periodMillis, boolean record) {
        thread = Thread.ofPlatform().daemon().name("fault-check").start(() -> {
            while (!stop.get()) {
                Answer a;
                try {
                    a = check.get();
                } catch (RuntimeException e) {
                    a = new Answer(false, "call failed: " + e.getMessage());
                }
                if (a.allowed()) {
                    allowed.increment();
                } else {
                    denied.increment();
                    firstDenial.compareAndSet("", a.message());
                }
                if (record) {
                    decisions.add(new Decision(System.nanoTime(), a.allowed(), a.message()));
                }
                try {
                    Thread.sleep(periodMillis);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    long allowed() {
        return allowed.sum();
    }

    long denied() {
        return denied.sum();
    }

    /** The reason of the first denial, empty when none. */
    String firstDenial() {
        return firstDenial.get();
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
