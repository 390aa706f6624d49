package dev.attestmesh.perf;

import dev.attestmesh.perf.issuance.AttestationLoad;
import dev.attestmesh.perf.issuance.IssuanceBenchmark;
import java.util.Collection;
import java.util.Locale;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * {@code perf/run issuance}: certificate issuance on one core (JMH, with the bare signature as its
 * floor in the same run) and end-to-end attestations per second with simulated evidence over loopback
 * gRPC against a real control plane (load harness). Arguments: {@code [seconds-per-phase] [clients]
 * [warm-up-seconds]}; the attestation load runs {@code max(seconds, 20)} seconds after a warm-up of
 * 60 seconds by default (see {@link AttestationLoad}).
 */
public final class IssuanceHarness {
    private IssuanceHarness() {}

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int clients = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int warmup = args.length > 2 ? Integer.parseInt(args[2]) : 60;
        Collection<RunResult> results = new Runner(new OptionsBuilder()
                .include(IssuanceBenchmark.class.getName())
                .forks(1)
                .threads(1)
                .warmupIterations(2).warmupTime(TimeValue.seconds(Math.max(1, seconds / 3)))
                .measurementIterations(3).measurementTime(TimeValue.seconds(Math.max(1, seconds / 3)))
                .jvmArgsAppend("-Xmx1g")
                .build()).run();
        double issue = score(results, "issue");
        double bare = score(results, "bareSign");
        AttestationLoad.Result load = AttestationLoad.run(clients, warmup, Math.max(seconds, 20), 1_000_000);

        System.out.println();
        System.out.println("AttestMesh issuance and attestation (" + Runtime.getRuntime().availableProcessors()
                + " cores)");
        System.out.printf(Locale.ROOT, "%-52s %12s%n", "measure", "value");
        System.out.printf(Locale.ROOT, "%-52s %12.0f%n", "issuance, 1 thread (CSR check + sign + encode) /s", issue);
        System.out.printf(Locale.ROOT, "%-52s %12.0f%n", "floor: bare ECDSA P-256 sign (same signer), 1 thread /s", bare);
        System.out.printf(Locale.ROOT, "%-52s %12.2f%n", "ratio issuance time / bare sign time", bare / issue);
        System.out.printf(Locale.ROOT, "%-52s %12.0f%n", "attestations end to end (sim, " + clients + " clients) /s",
                load.perSecond());
        System.out.printf(Locale.ROOT, "%-52s %12.0f%n", "  cold: first 10 s of the " + load.warmupSeconds() + " s warm-up /s",
                load.coldPerSecond());
        System.out.printf(Locale.ROOT, "%-52s %12.2f%n", "attestation p50 latency ms", load.p50Ms());
        System.out.printf(Locale.ROOT, "%-52s %12.2f%n", "attestation p99 latency ms", load.p99Ms());
        System.out.printf(Locale.ROOT, "%-52s %12s%n", "attestations completed / failed", load.completed() + " / " + load.failed());
        System.out.printf(Locale.ROOT, "{\"certsPerSecond\":%.0f,\"bareSignsPerSecond\":%.0f,\"ratioToBareSign\":%.2f,"
                + "\"attestationsPerSecond\":%.0f,\"attestationP50Ms\":%.2f,\"attestationP99Ms\":%.2f,"
                + "\"attestationFailures\":%d,\"clients\":%d,\"coldAttestationsPerSecond\":%.0f,\"warmupSeconds\":%d}%n",
                issue, bare, bare / issue, load.perSecond(), load.p50Ms(), load.p99Ms(), load.failed(), clients,
                load.coldPerSecond(), load.warmupSeconds());
    }

    private static double score(Collection<RunResult> results, String method) {
        return results.stream().filter(r -> r.getParams().getBenchmark().endsWith("." + method)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no JMH result for " + method))
                .getPrimaryResult().getScore();
    }
}
