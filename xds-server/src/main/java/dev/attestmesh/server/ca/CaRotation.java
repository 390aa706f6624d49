package dev.attestmesh.server.ca;

import dev.attestmesh.ca.CaVaultException;
import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.server.store.CaMaterialStore;
import dev.attestmesh.server.store.Change;
import dev.attestmesh.server.store.ChangeNotifier;
import dev.attestmesh.server.store.Database;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rotates the mesh CA's issuing intermediate (on a schedule or on an operator's request) and keeps this
 * replica's CA in step with the store, where every replica sharing it finds the sealed CA.
 *
 * <p>Why a class of its own: a rotation is a read-modify-write of the one sealed CA row that several
 * replicas share. Done from memory, two replicas whose schedules fire together would each rotate, and the
 * second would overwrite the first's intermediate while nodes already hold certificates from it.
 *
 * <p>Guarantees:
 * <ul>
 *   <li>Every rotation runs under the store's CA lock ({@link Database#LOCK_CA}) and starts from the CA
 *       as stored, not as remembered: when the schedule fires on several replicas at once, the first
 *       rotates and the others find the fresh intermediate not due, so exactly one rotation happens.</li>
 *   <li>The rotated CA is sealed and committed before it is used; then {@link Change.Topic#CA} is
 *       published so the other replicas reload it.</li>
 *   <li>{@link #reloadIfChanged()} (on a change notification, and at every check in case one was lost)
 *       re-reads the sealed CA and adopts it when it differs from the one in use.</li>
 *   <li>{@link #checkTrustBundle()} notices when a retired intermediate's overlap has ended, so the
 *       trust bundle served to nodes drops it without any rotation.</li>
 *   <li>The {@link Listener} hears of every change of issuing intermediate or trust bundle, serialized,
 *       after the store committed it; it refreshes what derives from the CA (bundle file, SDS snapshots,
 *       serving certificate).</li>
 * </ul>
 */
public final class CaRotation {
    private static final Logger LOG = LoggerFactory.getLogger(CaRotation.class);

    /** Why the CA in use changed. */
    public enum Reason {
        /** This replica rotated the intermediate (scheduled or by an operator). */
        ROTATED_HERE,
        /** Another replica rotated it (or otherwise changed the stored CA); this replica reloaded it. */
        CHANGED_IN_STORE,
        /** A retired intermediate's overlap ended: the trust bundle shrank. */
        OVERLAP_ENDED,
        /** The listener failed on an earlier change; it is run again. */
        RETRY
    }

    /** Hears of changes of the CA in use; runs on the thread that made or noticed the change. */
    @FunctionalInterface
    public interface Listener {
        void caChanged(Reason reason);
    }

    private final Database db;
    private final CaMaterialStore store;
    private final MeshCaHolder ca;
    private final CaSealer sealer;
    private final IntermediateRotationPolicy policy;
    private final Duration overlap;
    private final ChangeNotifier changes;
    private final Clock clock;
    private final AtomicLong rotations = new AtomicLong();
    private Listener listener = reason -> {};
    // Guarded by this:
    private byte[] lastSealed = new byte[0];
    private List<X509Certificate> lastBundle;
    private boolean refreshFailed;

    public CaRotation(Database db, CaMaterialStore store, MeshCaHolder ca, CaSealer sealer,
            IntermediateRotationPolicy policy, Duration overlap, ChangeNotifier changes, Clock clock) {
        this.db = Objects.requireNonNull(db);
        this.store = Objects.requireNonNull(store);
        this.ca = Objects.requireNonNull(ca);
        this.sealer = Objects.requireNonNull(sealer);
        this.policy = Objects.requireNonNull(policy);
        this.overlap = Objects.requireNonNull(overlap);
        this.changes = Objects.requireNonNull(changes);
        this.clock = Objects.requireNonNull(clock);
        this.lastBundle = ca.trustBundle();
    }

    /** Sets the one listener (the control plane's refresh of what derives from the CA). */
    public synchronized void listen(Listener l) {
        this.listener = Objects.requireNonNull(l);
    }

    /** The schedule in force. */
    public IntermediateRotationPolicy policy() {
        return policy;
    }

    /** When the current intermediate is due for scheduled rotation; empty when the schedule is off. */
    public Optional<Instant> nextRotation() {
        return policy.dueAt(ca.ca().issuingIntermediate());
    }

    /** Rotations this replica made since start (scheduled and requested). */
    public long rotations() {
        return rotations.get();
    }

    /**
     * Rotates when the schedule says the intermediate is due, judged on the CA as stored.
     *
     * @return the new CA when this replica rotated; empty when nothing was due (or another replica had
     *     rotated already, whose CA is then adopted)
     */
    public synchronized Optional<MeshCa> rotateIfDue() throws IOException {
        if (policy instanceof IntermediateRotationPolicy.Off
                || !policy.isDue(ca.ca().issuingIntermediate(), clock.instant())) {
            return Optional.empty(); // not due on the CA in use; a newer stored one is found by reloadIfChanged
        }
        return rotate(overlap, true);
    }

    /**
     * Rotates now (an operator's request): a new intermediate under the same root; the current one stays
     * in the trust bundle for {@code overlap} (never past its own expiry).
     */
    public synchronized MeshCa rotateNow(Duration overlap) throws IOException {
        return rotate(overlap, false).orElseThrow();
    }

    private Optional<MeshCa> rotate(Duration overlap, boolean onlyIfDue) throws IOException {
        Rotated r = db.underLock(Database.LOCK_CA, () -> {
            MeshCa latest = adopt(loadStored());
            if (onlyIfDue && !policy.isDue(latest.issuingIntermediate(), clock.instant())) {
                return new Rotated(latest, Optional.empty()); // another replica rotated first
            }
            MeshCa rotated = latest.rotateIntermediate(overlap);
            byte[] sealed = seal(rotated);
            store.save(sealed, clock.instant());
            lastSealed = sealed;
            ca.replace(rotated);
            return new Rotated(latest, Optional.of(rotated));
        });
        if (r.rotated().isEmpty()) {
            notifyIfChanged(Reason.CHANGED_IN_STORE);
            return Optional.empty();
        }
        MeshCa rotated = r.rotated().get();
        X509Certificate old = r.before().issuingIntermediate();
        X509Certificate fresh = rotated.issuingIntermediate();
        LOG.info("rotated the mesh CA's issuing intermediate{}: new '{}' (serial {}, notAfter {}); previous serial {} "
                + "stays trusted for {} (until {}); next scheduled rotation: {}", onlyIfDue ? " on schedule" : "",
                fresh.getSubjectX500Principal().getName(), fresh.getSerialNumber().toString(16),
                fresh.getNotAfter().toInstant(), old.getSerialNumber().toString(16), RotationSettings.format(overlap),
                min(clock.instant().plus(overlap), old.getNotAfter().toInstant()),
                policy.dueAt(fresh).map(Instant::toString).orElse("none (schedule off)"));
        changes.publish(Change.Topic.CA);
        fire(Reason.ROTATED_HERE);
        rotations.incrementAndGet(); // counted once this replica has also refreshed what derives from the CA
        return Optional.of(rotated);
    }

    private record Rotated(MeshCa before, Optional<MeshCa> rotated) {}

    /**
     * Re-reads the sealed CA and adopts it when it differs from the one in use (another replica rotated).
     * Cheap when nothing changed: the sealed bytes are compared before anything is decrypted.
     *
     * @return true when the issuing intermediate or the trust bundle changed
     */
    public synchronized boolean reloadIfChanged() throws IOException {
        Optional<byte[]> sealed = store.load();
        if (sealed.isEmpty() || Arrays.equals(sealed.get(), lastSealed)) {
            return false;
        }
        adopt(unseal(sealed.get()));
        return notifyIfChanged(Reason.CHANGED_IN_STORE);
    }

    /**
     * Tells the listener when the trust bundle changed without a rotation (a retired intermediate's
     * overlap ended), or again when it failed on the last change; true when it was told.
     */
    public synchronized boolean checkTrustBundle() {
        if (refreshFailed) {
            fire(Reason.RETRY);
            return true;
        }
        return notifyIfChanged(Reason.OVERLAP_ENDED);
    }

    /**
     * Registers {@code attestmesh_ca_intermediate_not_after_seconds} (Unix time at which the issuing
     * intermediate expires) and {@code attestmesh_ca_intermediate_rotations_total} (rotations this replica
     * made).
     */
    public void registerMetrics(MeterRegistry registry) {
        Gauge.builder("attestmesh.ca.intermediate.not.after", ca,
                        h -> h.ca().issuingIntermediate().getNotAfter().toInstant().getEpochSecond())
                .baseUnit("seconds")
                .description("Expiry (Unix time) of the mesh CA's issuing intermediate").register(registry);
        FunctionCounter.builder("attestmesh.ca.intermediate.rotations", rotations, AtomicLong::get)
                .description("Rotations of the issuing intermediate made by this replica since start")
                .register(registry);
    }

    /** Adopts {@code stored} when it differs from the CA in use; returns the CA in use afterwards. */
    private MeshCa adopt(Stored stored) {
        MeshCa inUse = ca.ca();
        MeshCa fresh = stored.ca();
        if (!fresh.trustDomain().equals(inUse.trustDomain()) || !fresh.root().equals(inUse.root())) {
            // Never switch roots under running nodes: every bootstrap pins this root.
            throw new IllegalStateException("the CA in the store has another root or trust domain than the one in "
                    + "use; restart the control plane after checking who replaced it");
        }
        lastSealed = stored.sealed(); // (not when refused: every check reports it again)
        if (fresh != inUse) {
            ca.replace(fresh);
        }
        return fresh;
    }

    private boolean notifyIfChanged(Reason reason) {
        List<X509Certificate> bundle = ca.trustBundle();
        if (bundle.equals(lastBundle)) {
            return false;
        }
        if (reason == Reason.OVERLAP_ENDED) {
            LOG.info("a retired intermediate's overlap ended: the trust bundle now holds {} certificate(s)",
                    bundle.size());
        } else if (reason == Reason.CHANGED_IN_STORE) {
            X509Certificate i = ca.ca().issuingIntermediate();
            LOG.info("adopted the mesh CA changed in the store (by another replica): issuing intermediate serial {} "
                    + "(notAfter {}), trust bundle of {} certificate(s)", i.getSerialNumber().toString(16),
                    i.getNotAfter().toInstant(), bundle.size());
        }
        fire(reason);
        return true;
    }

    /**
     * Runs the listener. The change itself is committed already, so a failing listener (a full disk for
     * ca-bundle.pem, say) does not undo it: the failure is logged and the listener runs again at the next
     * {@link #checkTrustBundle()}.
     */
    private void fire(Reason reason) {
        lastBundle = ca.trustBundle();
        try {
            listener.caChanged(reason);
            refreshFailed = false;
        } catch (RuntimeException e) {
            refreshFailed = true;
            LOG.error("the mesh CA changed ({}) but refreshing what derives from it failed; retrying at the next "
                    + "check: {}", reason, e.getMessage(), e);
        }
    }

    private record Stored(byte[] sealed, MeshCa ca) {}

    private Stored loadStored() {
        byte[] sealed = store.load().orElseThrow(() -> new IllegalStateException(
                "the mesh CA is missing from the store; it was created at start, so someone deleted it"));
        if (Arrays.equals(sealed, lastSealed)) {
            return new Stored(sealed, ca.ca()); // unchanged since this replica last read or wrote it
        }
        return unseal(sealed);
    }

    private byte[] seal(MeshCa rotated) {
        try {
            return sealer.seal(rotated);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read the CA sealing key: " + e.getMessage(), e);
        }
    }

    private Stored unseal(byte[] sealed) {
        try {
            return new Stored(sealed, sealer.unseal(sealed, clock));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read the CA sealing key: " + e.getMessage(), e);
        } catch (CaVaultException e) {
            throw new IllegalStateException("cannot open the stored mesh CA: " + e.getMessage()
                    + " (check ATTESTMESH_CA_KEY / attestmesh.ca-key on every replica)", e);
        }
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }
}
