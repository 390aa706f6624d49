package dev.attestmesh.server.checkpoint;

import dev.attestmesh.issuance.CheckpointRefusedException;
import dev.attestmesh.issuance.LogCheckpointer;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Signs an issuance log checkpoint every {@code interval} when the log grew since the last one
 * ({@link LogCheckpointer#checkpointIfGrown}), on one daemon thread. Each run also re-checks that the
 * log still extends the latest checkpoint, so a truncated or rewritten log is reported in the server
 * log at every interval. A zero interval turns the schedule off (checkpoints are then only made on
 * demand through the admin API).
 */
public final class CheckpointSchedule implements AutoCloseable {
    /** Shortest interval accepted: each run reads the entries appended since the last checkpoint. */
    public static final Duration MIN_INTERVAL = Duration.ofSeconds(1);
    /** Longest interval accepted: a checkpoint a day at least, or none (zero). */
    public static final Duration MAX_INTERVAL = Duration.ofHours(24);
    private static final Logger LOG = LoggerFactory.getLogger(CheckpointSchedule.class);

    private final Optional<ScheduledExecutorService> executor;
    private final Duration interval;

    /**
     * @throws IllegalArgumentException when {@code interval} is neither zero nor within
     *     {@link #MIN_INTERVAL}..{@link #MAX_INTERVAL}
     */
    public CheckpointSchedule(LogCheckpointer checkpointer, Duration interval) {
        Objects.requireNonNull(checkpointer);
        this.interval = validate(interval);
        if (interval.isZero()) {
            LOG.warn("scheduled issuance log checkpoints are off (attestmesh.log.checkpoint-interval=0); sign them on "
                    + "demand with POST /api/v1/issuance-log/checkpoints");
            this.executor = Optional.empty();
            return;
        }
        ScheduledExecutorService ex = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "attestmesh-log-checkpoints");
            t.setDaemon(true);
            return t;
        });
        ex.scheduleWithFixedDelay(() -> runOnce(checkpointer), interval.toMillis(), interval.toMillis(),
                TimeUnit.MILLISECONDS);
        this.executor = Optional.of(ex);
    }

    /** The interval, or zero when the schedule is off. */
    public Duration interval() {
        return interval;
    }

    static Duration validate(Duration interval) {
        if (interval.isZero()) {
            return interval;
        }
        if (interval.compareTo(MIN_INTERVAL) < 0 || interval.compareTo(MAX_INTERVAL) > 0) {
            throw new IllegalArgumentException("attestmesh.log.checkpoint-interval must be 0 (off) or between 1s and "
                    + "24h, got " + interval);
        }
        return interval;
    }

    private static void runOnce(LogCheckpointer checkpointer) {
        try {
            checkpointer.checkpointIfGrown();
        } catch (CheckpointRefusedException e) {
            // already logged as an error by the checkpointer, with what is wrong
        } catch (RuntimeException e) {
            // the store may be unreachable for a while; the next run tries again
            LOG.warn("scheduled issuance log checkpoint failed: {}", e.getMessage());
        }
    }

    @Override
    public void close() {
        executor.ifPresent(ex -> {
            ex.shutdownNow();
            try {
                if (!ex.awaitTermination(5, TimeUnit.SECONDS)) {
                    LOG.warn("the issuance log checkpoint thread did not stop within 5 s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
    }
}
