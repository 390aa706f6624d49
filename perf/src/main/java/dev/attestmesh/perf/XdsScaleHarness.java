package dev.attestmesh.perf;

import dev.attestmesh.perf.xds.HeapCensus;
import dev.attestmesh.perf.xds.XdsScaleFleet;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code perf/run xds-scale [nodes] [attest-concurrency-per-process] [--replicas N] [--processes N] [--server-heap 1g]
 * [--fleet-heap 768m] [--target-seconds 5] [--server-jvm "OPTIONS"]}: simulated Envoy nodes, each attested with its own key and certificate,
 * hold an ADS stream over mTLS to the control plane and receive their SDS secrets; then a policy change that touches
 * every node is pushed and timed until every node has ACKed it. The control plane runs as its own JVM with the heap
 * named ({@code --server-heap}, 1 GiB by default), the fleet in {@code --processes} JVMs (one per 2,500 nodes by
 * default), so the measured heap is the control plane's alone and no process runs out of file descriptors;
 * {@code --replicas 2} runs two control planes on a throwaway PostgreSQL, half the fleet on each
 * ({@link XdsScaleFleet}). {@code --server-jvm} adds options to each control plane's JVM ({@code {replica}} is
 * replaced by its index), for example a flight recording.
 */
public final class XdsScaleHarness {
    private XdsScaleHarness() {}

    public static void main(String[] args) throws Exception {
        List<String> positional = new ArrayList<>();
        int replicas = 1;
        int processes = 0;
        String serverHeap = "1g";
        String fleetHeap = "768m";
        double target = 5;
        List<String> serverJvm = List.of();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--replicas" -> replicas = Integer.parseInt(args[++i]);
                case "--processes" -> processes = Integer.parseInt(args[++i]);
                case "--server-heap" -> serverHeap = args[++i];
                case "--fleet-heap" -> fleetHeap = args[++i];
                case "--server-jvm" -> serverJvm = List.of(args[++i].trim().split("\\s+"));
                case "--target-seconds" -> target = Double.parseDouble(args[++i]);
                default -> positional.add(args[i]);
            }
        }
        int nodes = positional.size() > 0 ? Integer.parseInt(positional.get(0)) : 5000;
        int concurrency = positional.size() > 1 ? Integer.parseInt(positional.get(1)) : 2;
        if (nodes < 1 || replicas < 1 || replicas > 8 || processes < 0 || concurrency < 1) {
            throw new IllegalArgumentException("nodes >= 1, 1 <= --replicas <= 8, --processes >= 0, concurrency >= 1");
        }
        if (processes == 0) {
            processes = Math.max(replicas, (nodes + 2499) / 2500);
        }
        XdsScaleFleet.Result r = XdsScaleFleet.run(new XdsScaleFleet.Settings(nodes, replicas, processes, concurrency,
                serverHeap, fleetHeap, serverJvm));
        print(r, target);
    }

    private static void print(XdsScaleFleet.Result r, double target) {
        var s = r.settings();
        System.out.println();
        System.out.printf(Locale.ROOT, "AttestMesh xDS scale: %d control plane(s)%s, -Xmx%s each, fleet in %d processes "
                + "(-Xmx%s), %d cores%n", s.replicas(), s.replicas() > 1 ? " on PostgreSQL" : " (embedded store)",
                s.serverHeap(), s.processes(), s.fleetHeap(), Runtime.getRuntime().availableProcessors());
        row("nodes attested (failed)", r.attested() + " (" + r.attestFailures() + ")");
        row("attestation phase, seconds", String.format(Locale.ROOT, "%.1f", r.attestSeconds()));
        row("nodes connected over ADS (mTLS) with first SDS response", Integer.toString(r.connected()));
        row("connect + first SDS push to all, seconds", String.format(Locale.ROOT, "%.1f", r.connectSeconds()));
        for (int i = 0; i < r.memory().size(); i++) {
            XdsScaleFleet.ReplicaMemory m = r.memory().get(i);
            String p = "cp" + i + ": ";
            row(p + "nodes on this replica", Integer.toString(m.nodes()));
            row(p + "live heap after GC: start / attested / streams, MiB", String.format(Locale.ROOT, "%.0f / %.0f / %.0f",
                    mib(m.start().liveBytes()), mib(m.attested().liveBytes()), mib(m.connected().liveBytes())));
            row(p + "resident set with streams, MiB", String.format(Locale.ROOT, "%.0f", mib(m.connected().rssBytes())));
            row(p + "heap per node, KiB (registry + stream)", String.format(Locale.ROOT, "%.1f (%.1f + %.1f)",
                    m.kibPerNode(), m.registryKibPerNode(), m.streamKibPerNode()));
            row(p + "Envoy Secret / Snapshot objects per node", String.format(Locale.ROOT, "%.2f / %.2f",
                    perNode(m.connected().instances(XdsScaleFleet.SECRET_CLASS), m.nodes()),
                    perNode(m.connected().instancesMatching("io.envoyproxy.controlplane.cache", "Snapshot"), m.nodes())));
            for (HeapCensus.Growth g : m.connected().largestGrowth(m.start(), 8)) {
                row(p + "  grew: " + shorten(g.className()), String.format(Locale.ROOT, "%.1f KiB/node, %.1f obj/node",
                        g.bytes() / 1024.0 / Math.max(1, m.nodes()), perNode(g.instances(), m.nodes())));
            }
        }
        row("policy change: nodes that received and ACKed it", Integer.toString(r.changed()));
        row("policy change: every node ACKed, seconds", String.format(Locale.ROOT, "%.2f", r.convergenceSeconds()));
        row("push latency p50 / p99 / max, ms", String.format(Locale.ROOT, "%.1f / %.1f / %.1f", r.pushP50Ms(),
                r.pushP99Ms(), r.pushMaxMs()));
        row("nodes SYNCED for SDS at the control plane(s) afterwards", Integer.toString(r.syncedAtServers()));
        boolean met = r.changed() == s.nodes() && r.syncedAtServers() == s.nodes() && r.convergenceSeconds() <= target;
        row("target: all " + s.nodes() + " ACKed within " + target + " s", met ? "met" : "NOT met");
        StringBuilder mem = new StringBuilder("[");
        for (XdsScaleFleet.ReplicaMemory m : r.memory()) {
            mem.append(mem.length() > 1 ? "," : "").append(String.format(Locale.ROOT, "{\"nodes\":%d,\"liveHeapMiB\":%.0f,"
                    + "\"heapKiBPerNode\":%.1f,\"registryKiBPerNode\":%.1f,\"streamKiBPerNode\":%.1f,\"rssMiB\":%.0f}",
                    m.nodes(), mib(m.connected().liveBytes()), m.kibPerNode(), m.registryKibPerNode(),
                    m.streamKibPerNode(), mib(m.connected().rssBytes())));
        }
        System.out.printf(Locale.ROOT, "{\"harness\":\"xds-scale\",\"nodes\":%d,\"replicas\":%d,\"processes\":%d,"
                + "\"serverHeap\":\"%s\",\"attested\":%d,\"attestFailures\":%d,\"connected\":%d,\"attestSeconds\":%.1f,"
                + "\"connectSeconds\":%.1f,\"replicaMemory\":%s],\"changed\":%d,\"convergenceSeconds\":%.2f,"
                + "\"pushP50Ms\":%.1f,\"pushP99Ms\":%.1f,\"pushMaxMs\":%.1f,\"syncedAtServers\":%d,\"targetMet\":%b}%n",
                s.nodes(), s.replicas(), s.processes(), s.serverHeap(), r.attested(), r.attestFailures(), r.connected(),
                r.attestSeconds(), r.connectSeconds(), mem, r.changed(), r.convergenceSeconds(), r.pushP50Ms(),
                r.pushP99Ms(), r.pushMaxMs(), r.syncedAtServers(), met);
    }

    private static void row(String name, String value) {
        System.out.printf(Locale.ROOT, "%-60s %24s%n", name, value);
    }

    private static double mib(long bytes) {
        return bytes / (1024.0 * 1024.0);
    }

    private static double perNode(long n, int nodes) {
        return (double) n / Math.max(1, nodes);
    }

    private static String shorten(String cls) {
        return cls.length() > 50 ? "..." + cls.substring(cls.length() - 47) : cls;
    }
}
