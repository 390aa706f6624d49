package dev.attestmesh.cli;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * The one shutdown path of the long-running commands ({@code server}, {@code authz}, {@code agent}).
 *
 * <p>Why signals and not a JVM shutdown hook: a hook runs while the JVM is already exiting, beside every other
 * library's hook, and cannot choose the exit status (after SIGTERM the JVM exits 143 whatever the hook did).
 * {@code attestmesh server} used to stop its Micronaut context from a hook while Micronaut's own hook stopped
 * the same context: each held the lock the other needed and the process never exited. Here SIGTERM, SIGINT and
 * SIGHUP only <em>record</em> that a stop was asked for and wake the command; the command's own thread, waiting
 * in {@link #awaitStop()}, then closes its parts in order and returns its exit status, 0 when everything closed
 * cleanly. No shutdown hook of ours is registered, and the server does not let Micronaut register one.
 *
 * <p>Bounded: from the signal, a watchdog gives the command {@code deadline} to finish; past it the process
 * halts with status 1 and says so, so an orchestrator never has to escalate to SIGKILL. A second signal during
 * the shutdown halts at once (status 128 + signal number), for an operator who does not want to wait.
 *
 * <p>One exception to the deadline: a JVM started with {@code -XX:AOTCacheOutput} (the training run that builds
 * an ahead-of-time cache, docs/performance.md) writes that cache as it exits, in a child JVM it waits for, after the
 * command has stopped; that takes longer than the deadline on small machines (10-20 s on two cores), so the watchdog
 * fired, said the stop hung, and the JVM exited 1 once the cache was written (HotSpot finishes the cache before it
 * lets a halt through). When the command says it has {@linkplain #stopped()
 * stopped}, such a JVM gets up to {@link #AOT_CACHE_WRITE_LIMIT} more to write it, and says so; any other JVM
 * keeps the deadline for its exit too.
 */
public final class ProcessShutdown {
    private static final Logger LOG = LoggerFactory.getLogger(ProcessShutdown.class);
    private static final List<String> SIGNALS = List.of("TERM", "INT", "HUP");
    /** How long a JVM that writes an AOT cache at exit may take for it once the command has stopped. */
    public static final Duration AOT_CACHE_WRITE_LIMIT = Duration.ofMinutes(5);

    private final String command;
    private final Duration deadline;
    private final CountDownLatch requested = new CountDownLatch(1);
    private final AtomicReference<String> cause = new AtomicReference<>();
    private final List<Runnable> onStop = new CopyOnWriteArrayList<>();
    private final Supplier<Optional<String>> aotCacheOutput;
    /** When the watchdog halts the process ({@link System#nanoTime()}); set when a stop is asked for. */
    private volatile long haltAt;

    private ProcessShutdown(String command, Duration deadline, Supplier<Optional<String>> aotCacheOutput) {
        this.command = command;
        this.deadline = deadline;
        this.aotCacheOutput = aotCacheOutput;
    }

    /**
     * Takes over SIGTERM, SIGINT and SIGHUP for this process. Call it first thing in the command, so a signal
     * that arrives while the command starts is not lost.
     *
     * @param command the command's name, for messages
     * @param deadline how long the command may take to stop once asked
     */
    public static ProcessShutdown install(String command, Duration deadline) {
        return install(command, deadline, ProcessShutdown::aotCacheOutput);
    }

    /** As {@link #install(String, Duration)}, with where this JVM writes an AOT cache at exit given (for tests). */
    static ProcessShutdown install(String command, Duration deadline, Supplier<Optional<String>> aotCacheOutput) {
        if (deadline.isNegative() || deadline.isZero()) {
            throw new IllegalArgumentException("shutdown deadline must be positive, not " + deadline);
        }
        ProcessShutdown shutdown = new ProcessShutdown(command, deadline, aotCacheOutput);
        for (String name : SIGNALS) {
            try {
                Signal.handle(new Signal(name), shutdown::signalled);
            } catch (IllegalArgumentException e) {
                // the JVM keeps this signal (-Xrs) or the platform has none: it keeps the JVM's default action
                LOG.warn("cannot handle SIG{}: {}; it will stop the process without an orderly shutdown", name,
                        e.getMessage());
            }
        }
        return shutdown;
    }

    /**
     * Runs {@code action} on the thread that asks for the stop (the signal's), or now if a stop was already asked
     * for. For waking a loop that is not waiting in {@link #awaitStop()}; it must not block.
     */
    public void onStop(Runnable action) {
        onStop.add(action);
        if (stopRequested()) {
            action.run();
        }
    }

    /** Blocks until a stop is asked for. */
    public void awaitStop() throws InterruptedException {
        requested.await();
    }

    public boolean stopRequested() {
        return requested.getCount() == 0;
    }

    /** Why the process is stopping ({@code SIGTERM}, ...), when it is. */
    public String cause() {
        String c = cause.get();
        return c == null ? "" : c;
    }

    /**
     * Asks for the stop, as a signal does.
     *
     * @return false when a stop had already been asked for
     */
    public boolean requestStop(String why) {
        if (!cause.compareAndSet(null, why)) {
            return false;
        }
        startWatchdog();
        LOG.info("{}: shutting down ({} received; at most {} s)", command, why, deadline.toSeconds());
        requested.countDown();
        for (Runnable action : onStop) {
            try {
                action.run();
            } catch (RuntimeException e) {
                LOG.warn("{}: a stop action failed: {}", command, e.toString());
            }
        }
        return true;
    }

    /**
     * Says the command has stopped in order and the JVM exits next. Only matters to a JVM that writes an AOT cache
     * at exit ({@code -XX:AOTCacheOutput}): its watchdog then allows {@link #AOT_CACHE_WRITE_LIMIT} from now for
     * that, instead of firing during it. Call it last, just before returning the exit status.
     */
    public void stopped() {
        if (!stopRequested()) {
            return;
        }
        Optional<String> cache = aotCacheOutput.get();
        if (cache.isPresent()) {
            haltAt = Math.max(haltAt, System.nanoTime() + AOT_CACHE_WRITE_LIMIT.toNanos());
            LOG.info("{}: stopped; the JVM now writes its AOT cache to {} before it exits (allowing up to {} s)",
                    command, cache.get(), AOT_CACHE_WRITE_LIMIT.toSeconds());
        }
    }

    /** Where this JVM writes an AOT cache when it exits ({@code -XX:AOTCacheOutput}); empty when it writes none. */
    static Optional<String> aotCacheOutput() {
        try {
            String v = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class)
                    .getVMOption("AOTCacheOutput").getValue();
            return v == null || v.isBlank() ? Optional.empty() : Optional.of(v);
        } catch (RuntimeException | LinkageError e) {
            // A JVM without the option (not HotSpot, older than JDK 25) writes no cache; a runtime without the
            // jdk.management module (a jlinked one, as docs/performance.md shows for the agent) cannot say: it keeps
            // the deadline. On the shutdown path, nothing here may throw.
            return Optional.empty();
        }
    }

    private void signalled(Signal signal) {
        if (!requestStop("SIG" + signal.getName())) {
            System.err.println("attestmesh " + command + ": SIG" + signal.getName()
                    + " during shutdown: stopping now, without closing in order");
            Runtime.getRuntime().halt(128 + signal.getNumber());
        }
    }

    private void startWatchdog() {
        haltAt = System.nanoTime() + deadline.toNanos();
        Thread.ofPlatform().daemon().name("attestmesh-shutdown-watchdog").start(() -> {
            try {
                long left;
                while ((left = haltAt - System.nanoTime()) > 0) { // haltAt moves only later, by stopped()
                    TimeUnit.NANOSECONDS.sleep(left);
                }
            } catch (InterruptedException e) {
                return;
            }
            // Still alive: a step hangs. Say where, then stop anyway.
            System.err.println("attestmesh " + command + ": did not stop within " + deadline.toSeconds()
                    + " s of " + cause() + "; halting. Threads still running:");
            Thread.getAllStackTraces().forEach((t, stack) -> {
                if (!t.isDaemon() && t != Thread.currentThread()) {
                    System.err.println("  " + t.getName() + (stack.length > 0 ? " at " + stack[0] : ""));
                }
            });
            System.err.flush();
            Runtime.getRuntime().halt(1);
        });
    }
}
