package dev.attestmesh.perf.faults;

import dev.attestmesh.agent.AttestationRefusedException;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.issuance.IssuanceLog;
import dev.attestmesh.issuance.IssuanceLogEntry;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.store.Database;
import dev.attestmesh.server.store.JdbcIssuanceLogStore;
import dev.attestmesh.server.store.NodeStore;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * kill -9 of the control plane (a real {@code attestmesh server} process on the embedded H2 store) while agents
 * attest, then a restart on the same data directory and port:
 * <ol>
 *   <li>{@code clients} agents attest new nodes for {@code loadSeconds}, and until at least {@value
 *       #MIN_BEFORE_KILL} were answered (at most 120 s); the process is killed with SIGKILL;</li>
 *   <li>it is restarted at once; the agents keep attesting (their calls fail while it is down) until one succeeds
 *       again, then for {@code afterSeconds} more;</li>
 *   <li>the server is stopped with SIGTERM and its store opened here: every certificate an agent was answered
 *       before the kill must have its node record (holding that very certificate) and its issuance-log entry, and
 *       the log's hash chain must hold;</li>
 *   <li>a third start, where every agent answered before the kill renews over mTLS with that certificate.</li>
 * </ol>
 * Figures: answered before the kill, lost among them (must be 0), calls failed while down (by status), time from
 * the kill to a healthy restart and to the first attestation answered again, renewals after the crash.
 */
public final class Kill9Scenario {
    /** The kill waits until at least this many attestations were answered. */
    static final int MIN_BEFORE_KILL = 10;

    /** How long the scenario runs each phase. */
    public record Settings(int loadSeconds, int afterSeconds, int clients, int maxRenewals) {
        public static Settings defaults() {
            return new Settings(15, 5, 4, 2_000);
        }
    }

    private Kill9Scenario() {}

    public static ScenarioResult run(Settings s) throws Exception {
        Path dir = Files.createTempDirectory("attestmesh-faults-kill9");
        Path data = dir.resolve("data");
        List<ServerProcess> started = new ArrayList<>();
        Map<String, Object> f = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        try {
            FaultMesh.writeFiles(dir);
            int grpc = FaultMesh.freePort();
            int admin = FaultMesh.freePort();
            ServerProcess first = ServerProcess.start(dir, data, grpc, admin, "first");
            started.add(first);
            first.awaitHealthy(Duration.ofSeconds(120));
            List<X509Certificate> bundle = Pem.parseCertificates(Files.readString(data.resolve("ca-bundle.pem")));

            AttestLoad load = new AttestLoad(first.grpcTarget(), bundle, dir, "kill9-", s.clients(), 1_000_000);
            // At least loadSeconds of load, and until MIN_BEFORE_KILL were answered (a cold JVM starts slowly).
            long loadStart = System.nanoTime();
            long loadDeadline = loadStart + TimeUnit.SECONDS.toNanos(120);
            while ((System.nanoTime() - loadStart < TimeUnit.SECONDS.toNanos(s.loadSeconds())
                    || load.events().stream().filter(AttestLoad.Event::ok).count() < MIN_BEFORE_KILL)
                    && System.nanoTime() < loadDeadline) {
                Thread.sleep(50);
            }
            long loadMillis = FaultMesh.millisSince(loadStart, System.nanoTime());
            long killAt = System.nanoTime();
            first.kill9();
            ServerProcess second = ServerProcess.start(dir, data, grpc, admin, "second");
            started.add(second);
            second.awaitHealthy(Duration.ofSeconds(120));
            long healthyAt = System.nanoTime();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (load.firstOkStartedAfter(killAt).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            Thread.sleep(TimeUnit.SECONDS.toMillis(s.afterSeconds()));
            load.stop();
            List<AttestLoad.Event> events = load.events();

            // Answered before the kill: the call ended before it (a call in flight at the kill was not answered).
            Map<String, NodeAgent> answered = new LinkedHashMap<>();
            events.stream().filter(e -> e.ok() && e.endNanos() < killAt)
                    .forEach(e -> answered.put(e.nodeId(), e.agent().orElseThrow()));
            long recoveredAt = load.firstOkStartedAfter(killAt).map(AttestLoad.Event::endNanos).orElse(-1L);
            Map<String, Long> failedWhileDown = new TreeMap<>();
            events.stream().filter(e -> !e.ok() && e.endNanos() >= killAt && (recoveredAt < 0 || e.startNanos() < recoveredAt))
                    .forEach(e -> failedWhileDown.merge(e.code(), 1L, Long::sum));
            long failedAfter = events.stream().filter(e -> !e.ok() && recoveredAt > 0 && e.startNanos() >= recoveredAt)
                    .count();
            f.put("attestedBeforeKill", answered.size());
            f.put("loadBeforeKillMs", loadMillis);
            f.put("attestationsPerSecondBeforeKill", Math.round(answered.size() * 1000.0 / loadMillis));
            f.put("killToHealthyMs", FaultMesh.millisSince(killAt, healthyAt));
            f.put("killToFirstAttestationMs", recoveredAt < 0 ? -1 : FaultMesh.millisSince(killAt, recoveredAt));
            f.put("failedWhileDown", failedWhileDown);
            f.put("failedAfterRecovery", failedAfter);
            f.put("attestedAfterRestart", events.stream().filter(e -> e.ok() && e.startNanos() >= killAt).count());
            if (recoveredAt < 0) {
                problems.add("no attestation succeeded within 120 s of the restart");
            }
            if (failedAfter > 0) {
                problems.add(failedAfter + " attestations failed after the first one succeeded again");
            }
            if (answered.isEmpty()) {
                problems.add("no attestation was answered before the kill");
            }
            if (second.sigterm() != 0) {
                problems.add("the restarted server did not exit 0 on SIGTERM:\n" + second.tail());
            }

            // The store, as the crash and the restart left it.
            int missingRecord = 0;
            int wrongRecord = 0;
            int missingLog = 0;
            try (Database db = Database.embedded(data)) {
                Map<String, String> records = new HashMap<>();
                for (NodeEntry e : new NodeStore(db).loadAll()) {
                    records.put(e.nodeId(), serial(e.certSerialHex()));
                }
                IssuanceLog log = new IssuanceLog(new JdbcIssuanceLogStore(db));
                Set<String> logged = new HashSet<>();
                Set<String> loggedNodes = new HashSet<>();
                for (long from = 1; ; ) {
                    List<IssuanceLogEntry> page = log.list(from, 1000);
                    if (page.isEmpty()) {
                        break;
                    }
                    page.forEach(e -> {
                        logged.add(serial(e.serialHex()));
                        loggedNodes.add(e.nodeId());
                    });
                    from = page.getLast().sequence() + 1;
                }
                for (Map.Entry<String, NodeAgent> a : answered.entrySet()) {
                    String serial = a.getValue().credentials().orElseThrow().leaf().getSerialNumber().toString(16);
                    String recorded = records.get(a.getKey());
                    if (recorded == null) {
                        missingRecord++;
                    } else if (!recorded.equals(serial)) {
                        wrongRecord++;
                    }
                    if (!logged.contains(serial)) {
                        missingLog++;
                    }
                }
                boolean intact = log.verify().intact();
                f.put("issuanceLogEntries", logged.size());
                f.put("issuanceLogIntact", intact);
                f.put("logEntriesWithoutRecord", loggedNodes.stream().filter(n -> !records.containsKey(n)).count());
                if (!intact) {
                    problems.add("the issuance log's hash chain is broken after kill -9: " + log.verify());
                }
            }
            f.put("lostRecords", missingRecord + wrongRecord);
            f.put("lostLogEntries", missingLog);
            if (missingRecord + wrongRecord + missingLog > 0) {
                problems.add("answered before kill -9 but lost: " + missingRecord + " without record, " + wrongRecord
                        + " with another certificate recorded, " + missingLog + " without log entry");
            }

            // Agents recover: each renews over mTLS with the certificate from before the crash.
            ServerProcess third = ServerProcess.start(dir, data, grpc, admin, "third");
            started.add(third);
            third.awaitHealthy(Duration.ofSeconds(120));
            List<NodeAgent> renewing = answered.values().stream().limit(s.maxRenewals()).toList();
            long renewed = renew(renewing, s.clients());
            f.put("renewedAfterCrash", renewed);
            f.put("renewalsFailed", renewing.size() - renewed);
            if (renewed != renewing.size()) {
                problems.add((renewing.size() - renewed) + " of " + renewing.size() + " agents could not renew after "
                        + "the crash");
            }
            if (third.sigterm() != 0) {
                problems.add("the third server did not exit 0 on SIGTERM");
            }
            return new ScenarioResult("kill9", f, problems);
        } finally {
            for (ServerProcess p : started) {
                p.destroy();
            }
            FaultMesh.delete(dir);
        }
    }

    private static long renew(List<NodeAgent> agents, int threads) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (NodeAgent a : agents) {
                results.add(pool.submit(() -> {
                    try {
                        a.attestOnce();
                        return true;
                    } catch (AttestationRefusedException e) {
                        return false;
                    }
                }));
            }
            long ok = 0;
            for (Future<Boolean> r : results) {
                if (r.get(120, TimeUnit.SECONDS)) {
                    ok++;
                }
            }
            return ok;
        } finally {
            pool.shutdownNow();
        }
    }

    private static String serial(String hex) {
        return new BigInteger(hex, 16).toString(16);
    }
}
