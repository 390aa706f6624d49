package dev.attestmesh.server.health;

import dev.attestmesh.ca.MeshCa;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Whether this control plane can serve: the store answers and the CA is loaded and current. Behind
 * {@code GET /health/ready}; liveness ({@code /health/live}) checks nothing of this.
 *
 * <p>Guarantees: a check never takes much longer than {@code timeout} (the store query runs on its own
 * thread and is abandoned when late; a check still stuck from before is reported, not waited for again, so
 * a hung store costs one thread, not one per probe). Reasons name the failing part and never carry secrets.
 * Thread-safe.
 */
public final class ReadinessProbe implements AutoCloseable {
    /** Asks the store a trivial question; throws when it does not answer. */
    @FunctionalInterface
    public interface StorePing {
        void ping(int timeoutSeconds);
    }

    /** Ready, or not with one reason per failing part. */
    public record Result(boolean ready, List<String> reasons) {
        public Result {
            reasons = List.copyOf(reasons);
        }
    }

    private final StorePing store;
    private final Supplier<MeshCa> ca;
    private final Supplier<X509Certificate> servingCertificate;
    private final Clock clock;
    private final Duration timeout;
    private final ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "attestmesh-readiness");
        t.setDaemon(true);
        return t;
    });
    private final AtomicReference<Future<?>> inFlight = new AtomicReference<>();

    /**
     * @param ca the CA in use (may throw or return null while none is loaded)
     * @param servingCertificate the certificate the gRPC (and, with TLS, admin) listener presents
     * @param timeout how long the store may take to answer (1s..30s)
     */
    public ReadinessProbe(StorePing store, Supplier<MeshCa> ca, Supplier<X509Certificate> servingCertificate,
            Clock clock, Duration timeout) {
        this.store = Objects.requireNonNull(store);
        this.ca = Objects.requireNonNull(ca);
        this.servingCertificate = Objects.requireNonNull(servingCertificate);
        this.clock = Objects.requireNonNull(clock);
        if (timeout.compareTo(Duration.ofSeconds(1)) < 0 || timeout.compareTo(Duration.ofSeconds(30)) > 0) {
            throw new IllegalArgumentException("readiness timeout " + timeout + " must be between 1s and 30s");
        }
        this.timeout = timeout;
    }

    /** Runs every check; never throws. */
    public Result check() {
        List<String> reasons = new ArrayList<>();
        storeReason().ifPresent(reasons::add);
        caReasons(reasons);
        return new Result(reasons.isEmpty(), reasons);
    }

    private Optional<String> storeReason() {
        Future<?> previous = inFlight.get();
        if (previous != null && !previous.isDone()) {
            return Optional.of("store: an earlier check has not answered after " + timeout.toSeconds() + " s");
        }
        Future<?> f;
        try {
            f = executor.submit(() -> store.ping((int) timeout.toSeconds()));
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return Optional.of("store: the control plane is stopping");
        }
        inFlight.set(f);
        try {
            f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return Optional.empty();
        } catch (TimeoutException e) {
            return Optional.of("store: no answer within " + timeout.toSeconds() + " s");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            return Optional.of("store: " + cause.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.of("store: check interrupted");
        }
    }

    private void caReasons(List<String> reasons) {
        Instant now = clock.instant();
        MeshCa current;
        try {
            current = ca.get();
        } catch (RuntimeException e) {
            reasons.add("ca: not loaded (" + e.getMessage() + ")");
            return;
        }
        if (current == null) {
            reasons.add("ca: not loaded");
            return;
        }
        Instant intermediateEnd = current.issuingIntermediate().getNotAfter().toInstant();
        if (!now.isBefore(intermediateEnd)) {
            reasons.add("ca: the issuing intermediate expired at " + intermediateEnd);
        }
        Instant servingEnd = servingCertificate.get().getNotAfter().toInstant();
        if (!now.isBefore(servingEnd)) {
            reasons.add("ca: the control plane's serving certificate expired at " + servingEnd
                    + " (renewals failing?)");
        }
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
