package dev.attestmesh.perf;

import dev.attestmesh.perf.xds.SimulatedEnvoyFleet;
import java.util.Locale;

/**
 * {@code perf/run xds-scale [nodes] [attest-concurrency]}: simulated Envoy nodes, each attested with
 * its own key and certificate, hold an ADS stream over mTLS to one control plane and receive their SDS
 * secrets; then a policy change that touches every node is pushed and timed until every node has ACKed
 * it. Run with {@code -Xmx2g} (perf/run does), so the whole process (control plane and every simulated
 * client) must fit the 2 GiB heap the target names.
 */
public final class XdsScaleHarness {
    private XdsScaleHarness() {}

    public static void main(String[] args) throws Exception {
        int nodes = args.length > 0 ? Integer.parseInt(args[0]) : 5000;
        int concurrency = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        SimulatedEnvoyFleet.Result r = SimulatedEnvoyFleet.run(nodes, concurrency);
        System.out.println();
        System.out.println("AttestMesh xDS scale (" + Runtime.getRuntime().availableProcessors() + " cores, max heap "
                + Runtime.getRuntime().maxMemory() / (1024 * 1024) + " MiB, control plane and clients in one JVM)");
        System.out.printf(Locale.ROOT, "%-56s %12s%n", "measure", "value");
        System.out.printf(Locale.ROOT, "%-56s %12d%n", "nodes attested and connected over ADS (mTLS)", r.connected());
        System.out.printf(Locale.ROOT, "%-56s %12.1f%n", "attestation phase, seconds", r.attestSeconds());
        System.out.printf(Locale.ROOT, "%-56s %12.1f%n", "connect + first SDS push to all, seconds", r.connectSeconds());
        System.out.printf(Locale.ROOT, "%-56s %12.0f%n", "heap used after GC, MiB (whole process)", r.heapMiB());
        System.out.printf(Locale.ROOT, "%-56s %12.1f%n", "heap per connected node, KiB (whole process)",
                r.heapMiB() * 1024 / Math.max(1, r.connected()));
        System.out.printf(Locale.ROOT, "%-56s %12.2f%n", "policy change: every node ACKed, seconds", r.convergenceSeconds());
        System.out.printf(Locale.ROOT, "%-56s %12.1f%n", "push latency p50, ms", r.pushP50Ms());
        System.out.printf(Locale.ROOT, "%-56s %12.1f%n", "push latency p99, ms", r.pushP99Ms());
        System.out.printf(Locale.ROOT, "%-56s %12d%n", "nodes SYNCED for SDS at the control plane afterwards",
                r.syncedAtServer());
        System.out.printf(Locale.ROOT, "{\"nodes\":%d,\"heapMiB\":%.0f,\"heapKiBPerNode\":%.1f,\"convergenceSeconds\":%.2f,"
                + "\"pushP50Ms\":%.1f,\"pushP99Ms\":%.1f,\"attestSeconds\":%.1f,\"connectSeconds\":%.1f,"
                + "\"syncedAtServer\":%d}%n", r.connected(), r.heapMiB(), r.heapMiB() * 1024 / Math.max(1, r.connected()),
                r.convergenceSeconds(), r.pushP50Ms(), r.pushP99Ms(), r.attestSeconds(), r.connectSeconds(),
                r.syncedAtServer());
    }
}
