package dev.attestmesh.server.ca;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the certificate checks of a running control plane every {@link RotationSettings#checkInterval()},
 * on one daemon thread: adopt a CA another replica rotated (in case its notification was lost), rotate
 * the intermediate when the schedule says so, notice an ended overlap, renew the serving certificate when
 * due. Decisions use the control plane's clock, so the checks run often but act only when something is due.
 *
 * <p>A check that fails (store unreachable, say) is logged and tried again at the next interval; the
 * serving certificate in use stays valid meanwhile, since it is renewed with a third of its life left.
 */
public final class RotationSchedule implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RotationSchedule.class);
    private static final Duration STOP_WAIT = Duration.ofSeconds(5);

    private final CaRotation ca;
    private final ServingCertificate serving;
    private final ScheduledExecutorService executor;

    /** Starts checking after one interval. */
    public RotationSchedule(CaRotation ca, ServingCertificate serving, Duration checkInterval) {
        this.ca = Objects.requireNonNull(ca);
        this.serving = Objects.requireNonNull(serving);
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "attestmesh-certificate-rotation");
            t.setDaemon(true);
            return t;
        });
        long ms = checkInterval.toMillis();
        executor.scheduleWithFixedDelay(this::checkOnce, ms, ms, TimeUnit.MILLISECONDS);
    }

    /** One round of checks; each step runs even when an earlier one failed. */
    void checkOnce() {
        try {
            ca.reloadIfChanged();
        } catch (Exception e) {
            LOG.warn("could not check the stored mesh CA for a rotation by another replica: {}", e.getMessage());
        }
        try {
            ca.rotateIfDue();
        } catch (Exception e) {
            LOG.error("scheduled rotation of the issuing intermediate failed; retrying at the next check: {}",
                    e.getMessage(), e);
        }
        try {
            ca.checkTrustBundle();
        } catch (RuntimeException e) {
            LOG.warn("could not refresh the trust bundle after an overlap ended: {}", e.getMessage());
        }
        try {
            serving.renewIfDue();
        } catch (RuntimeException e) {
            LOG.error("renewal of the control plane's serving certificate failed; retrying at the next check (it "
                    + "expires {}): {}", serving.certificate().getNotAfter().toInstant(), e.getMessage(), e);
        }
    }

    /** Stops the checks; waits for one in progress (at most 5 s). */
    @Override
    public void close() {
        executor.shutdown(); // a check in progress finishes (a rotation is committed whole or not at all)
        try {
            if (!executor.awaitTermination(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                executor.shutdownNow();
                LOG.warn("the certificate rotation thread did not stop within {} s", STOP_WAIT.toSeconds());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
