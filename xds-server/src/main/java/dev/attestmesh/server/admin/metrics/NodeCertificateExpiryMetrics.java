package dev.attestmesh.server.admin.metrics;

import dev.attestmesh.registry.NodeState;
import dev.attestmesh.server.registry.NodeEntry;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * How long the certificates of attested nodes have left, with a bounded number of series whatever the size of
 * the mesh:
 *
 * <ul>
 *   <li>{@code attestmesh_node_certificate_expiry_seconds{node}}: seconds until expiry, for at most
 *       {@code maxSeries} nodes, those whose certificates expire first (the ones an operator must look at);
 *   <li>{@code attestmesh_node_certificate_expiry_series_omitted}: attested nodes left out of that gauge;
 *   <li>{@code attestmesh_node_certificates_expiring{within_seconds}}: attested nodes whose unexpired certificate
 *       expires within 300, 900, 3600, 21600, 86400 seconds or at all ({@code +Inf}), a cumulative count like
 *       a histogram's buckets, one series per bucket;
 *   <li>{@code attestmesh_node_certificate_earliest_expiry_seconds}: seconds until the first of them expires
 *       (NaN when no attested node holds an unexpired certificate).
 * </ul>
 *
 * Only {@link NodeState#ATTESTED} nodes whose certificate has not expired count: a node that left the mesh stops
 * renewing, and its certificate running out is expected, not an alert. A node id as a label is bounded (node ids
 * are validated at Challenge) and the number of such labels is capped by {@code maxSeries}. The values are
 * computed at each scrape ({@link #refresh()}), from the registry in memory.
 */
public final class NodeCertificateExpiryMetrics {
    /** Default for {@code maxSeries}: enough for every node of a small mesh, and a bounded cost for a big one. */
    public static final int DEFAULT_MAX_SERIES = 100;
    /** The most series an operator may ask for. */
    public static final int MAX_SERIES_LIMIT = 10_000;
    static final List<Duration> BUCKETS = List.of(Duration.ofMinutes(5), Duration.ofMinutes(15), Duration.ofHours(1),
            Duration.ofHours(6), Duration.ofHours(24));

    private final Supplier<Collection<NodeEntry>> nodes;
    private final Clock clock;
    private volatile int maxSeries;
    private final MultiGauge perNode;
    private final MultiGauge expiring;
    private volatile double earliest = Double.NaN;
    private volatile int omitted;

    /**
     * @param maxSeries at most this many per-node series (1 to {@value #MAX_SERIES_LIMIT})
     */
    public NodeCertificateExpiryMetrics(MeterRegistry registry, Supplier<Collection<NodeEntry>> nodes, Clock clock,
            int maxSeries) {
        this.maxSeries = requireValidMaxSeries(maxSeries);
        this.nodes = Objects.requireNonNull(nodes, "nodes");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.perNode = MultiGauge.builder("attestmesh.node.certificate.expiry").baseUnit("seconds")
                .description("Seconds until an attested node's certificate expires (the nodes expiring first, capped)")
                .register(registry);
        this.expiring = MultiGauge.builder("attestmesh.node.certificates.expiring")
                .description("Attested nodes whose unexpired certificate expires within within_seconds")
                .register(registry);
        Gauge.builder("attestmesh.node.certificate.earliest.expiry", this, m -> m.earliest).baseUnit("seconds")
                .description("Seconds until the first unexpired certificate of an attested node expires")
                .register(registry);
        Gauge.builder("attestmesh.node.certificate.expiry.series.omitted", this, m -> m.omitted)
                .description("Attested nodes left out of attestmesh_node_certificate_expiry_seconds by its series cap")
                .register(registry);
        refresh();
    }

    /** Changes the cap on per-node series ({@code attestmesh.metrics.node-certificate-series}). */
    public void maxSeries(int maxSeries) {
        this.maxSeries = requireValidMaxSeries(maxSeries);
        refresh();
    }

    /** Returns {@code maxSeries} if it is a valid cap, else throws naming the setting. */
    public static int requireValidMaxSeries(int maxSeries) {
        if (maxSeries < 1 || maxSeries > MAX_SERIES_LIMIT) {
            throw new IllegalArgumentException("attestmesh.metrics.node-certificate-series must be between 1 and "
                    + MAX_SERIES_LIMIT + ", not " + maxSeries);
        }
        return maxSeries;
    }

    /** Recomputes every value from the registry; called before each scrape. */
    public synchronized void refresh() {
        Instant now = clock.instant();
        List<Long> remaining = new ArrayList<>();
        List<NodeEntry> live = new ArrayList<>();
        for (NodeEntry e : nodes.get()) {
            if (e.state() == NodeState.ATTESTED && e.certNotAfter().isAfter(now)) {
                live.add(e);
            }
        }
        live.sort(Comparator.comparing(NodeEntry::certNotAfter).thenComparing(NodeEntry::nodeId));
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        for (NodeEntry e : live) {
            long seconds = Duration.between(now, e.certNotAfter()).toSeconds();
            remaining.add(seconds);
            if (rows.size() < maxSeries) {
                rows.add(MultiGauge.Row.of(Tags.of("node", e.nodeId()), seconds));
            }
        }
        perNode.register(rows, true);
        List<MultiGauge.Row<?>> buckets = new ArrayList<>();
        for (Duration b : BUCKETS) {
            long count = remaining.stream().filter(s -> s <= b.toSeconds()).count();
            buckets.add(MultiGauge.Row.of(Tags.of("within_seconds", Long.toString(b.toSeconds())), count));
        }
        buckets.add(MultiGauge.Row.of(Tags.of("within_seconds", "+Inf"), remaining.size()));
        expiring.register(buckets, true);
        earliest = remaining.isEmpty() ? Double.NaN : remaining.getFirst();
        omitted = Math.max(0, live.size() - maxSeries);
    }
}
