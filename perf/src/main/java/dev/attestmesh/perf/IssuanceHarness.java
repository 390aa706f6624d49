package dev.attestmesh.perf;

import dev.attestmesh.perf.issuance.AttestationLoad;
import dev.attestmesh.perf.issuance.IssuanceBenchmark;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * {@code perf/run issuance}: certificate issuance on one core (JMH, with the bare signature as its
 * floor in the same run) and end-to-end attestations per second with simulated evidence over loopback
 * gRPC against a real control plane (load harness).
 *
 * <p>Usage: {@code perf/run issuance [--kubernetes] [seconds-per-phase] [clients] [warm-up-seconds]}
 * (defaults 10, 8, 180); the attestation load runs {@code max(seconds, 20)} seconds after the warm-up
 * (see {@link AttestationLoad}). The warm-up is long because on two cores the C2 compiler is still
 * compiling the attestation path (seconds per method, competing with the load) a minute in; the JIT and
 * GC time inside the timed window are printed, so a window that was not steady shows. With {@code --kubernetes} every Challenge carries a pod's projected
 * service-account token (RS256, verified against a JWK set file) and the node id is the pod UID; the
 * identities are Istio-form registrations per service account.
 *
 * <p>The attestation rate is reported next to its signature floor, measured by JMH in the same run:
 * the public-key operations of one attestation on one thread (CSR check, evidence check, certificate
 * signature, and in Kubernetes mode the token check). The ratio is the machine time per attestation
 * (cores / rate: the clients share the cores) over the floor's time.
 */
public final class IssuanceHarness {
    private IssuanceHarness() {}

    public static void main(String[] args) throws Exception {
        boolean kubernetes = Arrays.asList(args).contains("--kubernetes");
        List<String> rest = Arrays.stream(args).filter(a -> !a.equals("--kubernetes")).toList();
        for (String a : rest) {
            if (!a.matches("[0-9]{1,6}")) {
                System.err.println("usage: perf/run issuance [--kubernetes] [seconds-per-phase] [clients] "
                        + "[warm-up-seconds]; '" + a + "' is not a count");
                System.exit(2);
            }
        }
        int seconds = rest.size() > 0 ? Integer.parseInt(rest.get(0)) : 10;
        int clients = rest.size() > 1 ? Integer.parseInt(rest.get(1)) : 8;
        int warmup = rest.size() > 2 ? Integer.parseInt(rest.get(2)) : 180;
        AttestationLoad.Mode mode = kubernetes ? AttestationLoad.Mode.KUBERNETES : AttestationLoad.Mode.PLAIN;
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
        double signatures = score(results, "attestationSignatures");
        double token = score(results, "tokenSignature");
        // One attestation's floor on one thread: the sum of its signature operations' times.
        double floor = 1 / (1 / signatures + (kubernetes ? 1 / token : 0));
        AttestationLoad.Result load = AttestationLoad.run(mode, clients, warmup, Math.max(seconds, 20), 1_000_000);
        int cores = Runtime.getRuntime().availableProcessors();
        double ratio = cores * floor / load.perSecond();
        String label = kubernetes ? "sim + k8s token" : "sim";

        System.out.println();
        System.out.println("AttestMesh issuance and attestation (" + cores + " cores, mode "
                + mode.name().toLowerCase(Locale.ROOT) + ")");
        System.out.printf(Locale.ROOT, "%-52s %12s%n", "measure", "value");
        System.out.printf(Locale.ROOT, "%-52s %12.0f%n", "issuance, 1 thread (CSR check + sign + encode) /s", issue);
        System.out.printf(Locale.ROOT, "%-52s %12.0f%n", "floor: bare ECDSA P-256 sign (same signer), 1 thread /s", bare);
        System.out.printf(Locale.ROOT, "%-52s %12.2f%n", "ratio issuance time / bare sign time", bare / issue);
        System.out.printf(Locale.ROOT, "%-52s %12.0f%n", "floor: CSR + evidence verify, cert sign, 1 thread /s",
                signatures);
        System.out.printf(Locale.ROOT, "%-52s %12.0f%n", "floor: RS256 token verify (JDK), 1 thread /s", token);
        System.out.printf(Locale.ROOT, "%-52s %12.0f%n", "floor of one attestation (" + label + "), 1 thread /s",
                floor);
        System.out.printf(Locale.ROOT, "%-52s %12.0f%n", "attestations end to end (" + label + ", " + clients
                + " clients) /s", load.perSecond());
        System.out.printf(Locale.ROOT, "%-52s %12.2f%n", "ratio machine time (" + cores + " cores / rate) / floor",
                ratio);
        System.out.printf(Locale.ROOT, "%-52s %12.0f%n", "  cold: first 10 s of the " + load.warmupSeconds() + " s warm-up /s",
                load.coldPerSecond());
        System.out.printf(Locale.ROOT, "%-52s %12.2f%n", "attestation p50 latency ms", load.p50Ms());
        System.out.printf(Locale.ROOT, "%-52s %12.2f%n", "attestation p99 latency ms", load.p99Ms());
        System.out.printf(Locale.ROOT, "%-52s %12s%n", "attestations completed / failed", load.completed() + " / " + load.failed());
        System.out.printf(Locale.ROOT, "%-52s %12d%n", "nodes in the registry at the end", load.registeredNodes());
        System.out.printf(Locale.ROOT, "%-52s %12s%n", "timed window CPU: this process / machine busy",
                String.format(Locale.ROOT, "%.0f%% / %.0f%%", 100 * load.cpu().processShare(),
                        100 * load.cpu().machineBusy()));
        System.out.printf(Locale.ROOT, "%-52s %12s%n", "timed window: JIT compile ms / GC ms",
                load.jitMillisInWindow() + " / " + load.gcMillisInWindow());
        if (kubernetes) {
            System.out.printf(Locale.ROOT, "%-52s %12d%n", "tokens minted before the phases (RS256)", load.mintedTokens());
            System.out.printf(Locale.ROOT, "%-52s %12.0f%n", "  minting rate, all threads /s", load.mintPerSecond());
            System.out.printf(Locale.ROOT, "%-52s %12s%n", "  a phase ran out of tokens", load.poolExhausted());
        }
        System.out.printf(Locale.ROOT, "{\"certsPerSecond\":%.0f,\"bareSignsPerSecond\":%.0f,\"ratioToBareSign\":%.2f,"
                + "\"attestationsPerSecond\":%.0f,\"attestationP50Ms\":%.2f,\"attestationP99Ms\":%.2f,"
                + "\"attestationFailures\":%d,\"clients\":%d,\"coldAttestationsPerSecond\":%.0f,\"warmupSeconds\":%d,"
                + "\"mode\":\"%s\",\"floorAttestationsPerSecond\":%.0f,\"floorSignaturesPerSecond\":%.0f,"
                + "\"floorTokenVerifiesPerSecond\":%.0f,\"ratioToFloor\":%.2f,\"registeredNodes\":%d,"
                + "\"tokenPoolExhausted\":%s,\"processCpuShare\":%.2f,\"machineCpuBusy\":%.2f,\"jitMillisInWindow\":%d,\"gcMillisInWindow\":%d}%n",
                issue, bare, bare / issue, load.perSecond(), load.p50Ms(), load.p99Ms(), load.failed(), clients,
                load.coldPerSecond(), load.warmupSeconds(), mode.name().toLowerCase(Locale.ROOT), floor, signatures,
                token, ratio, load.registeredNodes(), load.poolExhausted(), load.cpu().processShare(),
                load.cpu().machineBusy(), load.jitMillisInWindow(), load.gcMillisInWindow());
    }

    private static double score(Collection<RunResult> results, String method) {
        return results.stream().filter(r -> r.getParams().getBenchmark().endsWith("." + method)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no JMH result for " + method))
                .getPrimaryResult().getScore();
    }
}
