package dev.attestmesh.server.admin.metrics;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * {@code attestmesh_collateral_next_update_seconds{kind}}: seconds until the earliest {@code nextUpdate} of the
 * cached collateral of each kind ({@code tcb_info}, {@code qe_identity}, {@code pck_crl}, {@code root_crl} from
 * Intel PCS or a PCCS, {@code amd_crl} from AMD KDS or files); NaN while nothing of that kind is cached. The caches
 * drop an item at its nextUpdate and fetch it again; if the source (a PCCS that stopped refreshing) has nothing
 * newer, attestation then fails closed, which is what an alert on this metric warns of beforehand.
 *
 * <p>The evidence verifiers build their caches lazily, at the first attestation of each TEE type: each cache
 * {@linkplain #watch registers} itself here when built.
 */
public final class CollateralExpiryMetrics {
    /** The kinds of collateral, a fixed set of label values. */
    public static final List<String> KINDS = List.of("tcb_info", "qe_identity", "pck_crl", "root_crl", "amd_crl");

    private final List<Supplier<Map<String, Instant>>> sources = new CopyOnWriteArrayList<>();
    private final Clock clock;

    public CollateralExpiryMetrics(Clock clock) {
        this.clock = clock;
    }

    /** Adds a cache: {@code earliest} gives, per kind it holds, the earliest nextUpdate. Unknown kinds are ignored. */
    public void watch(Supplier<Map<String, Instant>> earliest) {
        sources.add(earliest);
    }

    /** Adds an AMD CRL cache. */
    public void watchAmdCrls(Supplier<Optional<Instant>> earliest) {
        sources.add(() -> earliest.get().map(i -> Map.of("amd_crl", i)).orElse(Map.of()));
    }

    /** Registers one gauge per kind in {@code registry}. */
    public void registerMetrics(MeterRegistry registry) {
        for (String kind : KINDS) {
            Gauge.builder("attestmesh.collateral.next.update", this, m -> m.secondsUntil(kind)).baseUnit("seconds")
                    .description("Seconds until the earliest nextUpdate of cached collateral of this kind (NaN: none cached)")
                    .tag("kind", kind).register(registry);
        }
    }

    /** Seconds until the earliest nextUpdate of {@code kind} among every watched cache; NaN when none holds one. */
    double secondsUntil(String kind) {
        Instant earliest = null;
        for (Supplier<Map<String, Instant>> s : sources) {
            Instant i = s.get().get(kind);
            if (i != null && (earliest == null || i.isBefore(earliest))) {
                earliest = i;
            }
        }
        return earliest == null ? Double.NaN : Duration.between(clock.instant(), earliest).toMillis() / 1000.0;
    }
}
