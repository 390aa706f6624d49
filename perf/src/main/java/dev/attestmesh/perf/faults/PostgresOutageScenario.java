package dev.attestmesh.perf.faults;

import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.authz.standalone.StandaloneAuthzServer;
import dev.attestmesh.issuance.IssuanceLogEntry;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.EvidenceVerifierSet;
import dev.attestmesh.server.demo.DemoAuthzClient;
import dev.attestmesh.server.store.DatabaseSettings;
import dev.attestmesh.server.watch.RegistryWatchSettings;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * PostgreSQL stopped under load, then started again; the control plane (in this JVM, on a {@link ThrowawayPostgres})
 * is never touched:
 * <ol>
 *   <li>{@code clients} agents attest new nodes while one Check a {@value #CHECK_PERIOD_MILLIS} ms asks the embedded
 *       ext_authz about an attested node, for {@code beforeSeconds};</li>
 *   <li>PostgreSQL is stopped ({@code pg_ctl stop -m fast}) for {@code outageSeconds}: every Attest that fails
 *       from the stop until it is back must fail with {@code UNAVAILABLE} (never {@code INTERNAL}/{@code UNKNOWN}),
 *       and none is answered a certificate while it is down; Check must keep allowing from the last view until {@code attestmesh.database.max-staleness}
 *       ({@code staleness}), then deny with "registry view is stale";</li>
 *   <li>PostgreSQL is started again: attestations and Check must recover by themselves, within 60 s.</li>
 * </ol>
 * A standalone ext_authz replica ({@code attestmesh authz}) watches this control plane throughout, with the same
 * staleness bound, and is asked the same Check: once the control plane's own view is stale it stops serving the
 * registry watch, so the replica too must deny as stale before PostgreSQL is back (never allow from a view that may
 * miss revocations), and allow again by itself afterwards.
 * Afterwards every attestation that was answered has its node record and log entry, and the log's hash chain holds.
 */
public final class PostgresOutageScenario {
    static final long CHECK_PERIOD_MILLIS = 20;
    static final String STALE = "registry view is stale";

    /** The phases' lengths and the staleness bound of the control plane. */
    public record Settings(int beforeSeconds, int outageSeconds, Duration staleness, int clients) {
        public static Settings defaults() {
            return new Settings(10, 30, Duration.ofSeconds(10), 2);
        }
    }

    private PostgresOutageScenario() {}

    public static ScenarioResult run(Settings s) throws Exception {
        Optional<String> unavailable = ThrowawayPostgres.unavailableReason();
        if (unavailable.isPresent()) {
            return ScenarioResult.skipped("postgres", unavailable.get());
        }
        Path dir = Files.createTempDirectory("attestmesh-faults-pg");
        Map<String, Object> f = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        try (ThrowawayPostgres pg = ThrowawayPostgres.start()) {
            FaultMesh.writeFiles(dir);
            ControlPlaneSettings settings = ControlPlaneSettings.forTests(dir.resolve("cp"),
                    Optional.of(dir.resolve("policies.yaml"))).withRegistrationFile(Optional.of(dir.resolve(
                    "registrations.yaml"))).withDatabase(DatabaseSettings.of(pg.jdbcUrl(), "", "")
                    .withMaxStaleness(s.staleness()));
            try (ControlPlane cp = ControlPlane.start(settings, Clock.systemUTC(), EvidenceVerifierSet.defaults(),
                    new RegistryWatchSettings(Set.of("spiffe://attestmesh.local/attestmesh/replica/"
                            + AuthzOutageScenario.REPLICA), Duration.ofSeconds(1)))) {
                String target = "127.0.0.1:" + cp.grpcPort();
                NodeAgent asker = FaultMesh.agent(target, cp.trustBundle(), dir, "asker");
                NodeAgent peer = FaultMesh.agent(target, cp.trustBundle(), dir, "peer");
                asker.attestOnce();
                peer.attestOnce();
                Path replica = AuthzOutageScenario.issueReplica(cp, dir);
                try (DemoAuthzClient authz = new DemoAuthzClient(target, asker);
                        StandaloneAuthzServer standalone = StandaloneAuthzServer.start(new StandaloneAuthzServer.Settings(
                                target, cp.caBundleFile(), replica.resolve("cert-chain.pem"), replica.resolve("key.pem"),
                                Optional.empty(), "127.0.0.1", 0, true, true, s.staleness(),
                                AuthzOutageScenario.REPLICA, 10_000).withAllowInsecure(true))) {
                    if (!standalone.view().awaitFirstSnapshot(Duration.ofSeconds(30))) {
                        problems.add("the standalone replica got no registry snapshot within 30 s");
                        return new ScenarioResult("postgres", f, problems);
                    }
                    try (AuthzOutageScenario.ReplicaChecks replicaChecks = AuthzOutageScenario.ReplicaChecks.start(
                            standalone, peer)) {
                        CheckLoop checks = new CheckLoop(() -> {
                            DemoAuthzClient.Result r = authz.check(peer.credentials().orElseThrow().leaf(),
                                    FaultMesh.spiffeId("asker"), List.of(FaultMesh.POLICY));
                            return new CheckLoop.Answer(r.allowed(), r.allowed() ? "" : r.detail());
                        }, CHECK_PERIOD_MILLIS);
                        AttestLoad load = new AttestLoad(target, cp.trustBundle(), dir, "pg-", s.clients(), 1_000_000);
                        Thread.sleep(TimeUnit.SECONDS.toMillis(s.beforeSeconds()));
                        long stopAt = System.nanoTime();
                        pg.stopServer();
                        long stoppedAt = System.nanoTime();
                        Thread.sleep(Math.max(0, TimeUnit.SECONDS.toMillis(s.outageSeconds())
                                - FaultMesh.millisSince(stopAt, stoppedAt)));
                        long startAt = System.nanoTime();
                        pg.startServer();
                        long startedAt = System.nanoTime();
                        long deadline = startedAt + TimeUnit.SECONDS.toNanos(60);
                        while ((load.firstOkStartedAfter(startedAt).isEmpty()
                                || checks.first(startedAt, true, "").isEmpty()
                                || replicaChecks.loop().first(startedAt, true, "").isEmpty())
                                && System.nanoTime() < deadline) {
                            Thread.sleep(20);
                        }
                        Thread.sleep(2_000);
                        load.stop();
                        checks.stop();
                        replicaChecks.loop().stop();
                        f.put("pgStopMs", FaultMesh.millisSince(stopAt, stoppedAt));
                        f.put("pgStartMs", FaultMesh.millisSince(startAt, startedAt));
                        report(f, problems, s, load.events(), checks.decisions(), stopAt, stoppedAt, startAt,
                                startedAt);
                        replicaReport(f, problems, s, replicaChecks.loop().decisions(), stopAt, startAt, startedAt);
                        verifyStore(cp, load.events(), f, problems);
                    }
                }
            }
            return new ScenarioResult("postgres", f, problems);
        } finally {
            FaultMesh.delete(dir);
        }
    }

    private static void report(Map<String, Object> f, List<String> problems, Settings s, List<AttestLoad.Event> events,
            List<CheckLoop.Decision> decisions, long stopAt, long stoppedAt, long startAt, long startedAt) {
        // Attestations that started once PostgreSQL was down (the stop command had returned) and were answered before
        // the start command: it was down for all of their time. (One that started while it was stopping may still
        // have succeeded, and one that waited for a pooled connection until it was back may succeed; those are
        // counted apart.)
        // A refusal counts from the moment the stop was asked for (a call that began while PostgreSQL was shutting
        // down and was refused is an outage refusal); a success only if PostgreSQL was down for all of its time.
        Map<String, Long> duringOutage = new TreeMap<>();
        events.stream().filter(e -> e.startNanos() >= stopAt && e.endNanos() < startAt
                        && (!e.ok() || e.startNanos() >= stoppedAt))
                .forEach(e -> duringOutage.merge(e.code(), 1L, Long::sum));
        f.put("okStartedWhileStopping", events.stream().filter(e -> e.ok() && e.startNanos() >= stopAt
                && e.startNanos() < stoppedAt).count());
        long answeredAfterStart = events.stream().filter(e -> e.startNanos() >= stopAt && e.startNanos() < startAt
                && e.endNanos() >= startAt && e.ok()).count();
        long okWhileDown = events.stream().filter(e -> e.ok() && e.startNanos() >= stoppedAt && e.endNanos() < startAt)
                .count();
        Optional<AttestLoad.Event> firstRefusal = events.stream().filter(e -> !e.ok() && e.endNanos() >= stopAt)
                .min((a, b) -> Long.compare(a.endNanos(), b.endNanos()));
        long notUnavailable = events.stream().filter(e -> e.startNanos() >= stopAt && e.startNanos() < startedAt
                && !e.ok() && !e.code().equals("UNAVAILABLE")).count();
        long[] refusalMs = events.stream().filter(e -> e.startNanos() >= stopAt && e.endNanos() < startAt && !e.ok())
                .mapToLong(e -> (e.endNanos() - e.startNanos()) / 1_000_000).sorted().toArray();
        f.put("attestedBeforeStop", events.stream().filter(e -> e.ok() && e.endNanos() < stopAt).count());
        f.put("attestationsDuringOutage", duringOutage);
        f.put("startedInOutageAnsweredOkAfterStart", answeredAfterStart);
        f.put("refusalLatencyMsP50Max", refusalMs.length == 0 ? "-" : refusalMs[refusalMs.length / 2] + " / "
                + refusalMs[refusalMs.length - 1]);
        f.put("stopToFirstAttestationRefusedMs", firstRefusal.map(e -> FaultMesh.millisSince(stopAt, e.endNanos()))
                .orElse(-1L));
        firstRefusal.ifPresent(e -> f.put("firstRefusal", e.code() + ": " + e.message()));
        if (okWhileDown > 0) {
            problems.add(okWhileDown + " attestations were answered a certificate while PostgreSQL was down");
        }
        if (notUnavailable > 0) {
            problems.add(notUnavailable + " attestations during the outage failed with a status other than UNAVAILABLE: "
                    + duringOutage);
        }
        if (duringOutage.getOrDefault("UNAVAILABLE", 0L) == 0) {
            problems.add("no attestation was refused with UNAVAILABLE during the outage: " + duringOutage);
        }
        Optional<AttestLoad.Event> recovered = events.stream().filter(e -> e.ok() && e.startNanos() >= startedAt)
                .min((a, b) -> Long.compare(a.endNanos(), b.endNanos()));
        f.put("startToFirstAttestationMs", recovered.map(e -> FaultMesh.millisSince(startAt, e.endNanos())).orElse(-1L));
        if (recovered.isEmpty()) {
            problems.add("attestation did not recover within 60 s of PostgreSQL's start");
        }
        long failedAfter = recovered.map(r -> events.stream().filter(e -> !e.ok() && e.startNanos() >= r.endNanos())
                .count()).orElse(0L);
        f.put("attestationsFailedAfterRecovery", failedAfter);
        if (failedAfter > 0) {
            problems.add(failedAfter + " attestations failed after attestation had recovered");
        }

        // Check: allowed until the staleness bound, then denied as stale until PostgreSQL is back.
        Optional<CheckLoop.Decision> firstStale = decisions.stream().filter(d -> d.nanos() >= stopAt && !d.allowed()
                && d.message().startsWith(STALE)).findFirst();
        long otherDenials = decisions.stream().filter(d -> !d.allowed() && !d.message().startsWith(STALE)).count();
        long allowedWhileStale = firstStale.map(st -> decisions.stream().filter(d -> d.nanos() > st.nanos()
                && d.nanos() < startAt && d.allowed()).count()).orElse(0L);
        Optional<CheckLoop.Decision> lastAllowedBefore = decisions.stream().filter(d -> d.allowed() && d.nanos() < startAt
                && firstStale.map(st -> d.nanos() < st.nanos()).orElse(true)).reduce((a, b) -> b);
        f.put("checks", decisions.size());
        f.put("checkStalenessBoundMs", s.staleness().toMillis());
        f.put("stopToLastCheckAllowedMs", lastAllowedBefore.map(d -> FaultMesh.millisSince(stopAt, d.nanos()))
                .orElse(-1L));
        f.put("stopToFirstCheckDeniedStaleMs", firstStale.map(d -> FaultMesh.millisSince(stopAt, d.nanos())).orElse(-1L));
        firstStale.ifPresent(d -> f.put("staleDenial", d.message()));
        f.put("checksAllowedWhileStale", allowedWhileStale);
        f.put("checksDeniedOtherwise", otherDenials);
        if (firstStale.isEmpty()) {
            problems.add("Check never denied as stale while PostgreSQL was down");
        } else if (FaultMesh.millisSince(stopAt, firstStale.get().nanos()) < s.staleness().toMillis() - 5_500) {
            // The bound counts from the last liveness proof of the listening connection, at most 5 s before the stop.
            problems.add("Check denied as stale after " + FaultMesh.millisSince(stopAt, firstStale.get().nanos())
                    + " ms, well before the staleness bound of " + s.staleness().toMillis() + " ms");
        }
        if (allowedWhileStale > 0) {
            problems.add(allowedWhileStale + " Checks were allowed after the view became stale");
        }
        if (otherDenials > 0) {
            problems.add(otherDenials + " Checks were denied for another reason than staleness");
        }
        Optional<CheckLoop.Decision> checkBack = decisions.stream().filter(d -> d.nanos() >= startedAt && d.allowed())
                .findFirst();
        f.put("startToFirstCheckAllowedMs", checkBack.map(d -> FaultMesh.millisSince(startAt, d.nanos())).orElse(-1L));
        if (checkBack.isEmpty()) {
            problems.add("Check did not allow again within 60 s of PostgreSQL's start");
        }
    }

    /**
     * The standalone replica: allowed until the control plane's view turned stale and it stopped serving the watch,
     * then denied as stale (its own bound counts from the last heartbeat it got) while PostgreSQL was down, then
     * allowed again once it is back.
     */
    private static void replicaReport(Map<String, Object> f, List<String> problems, Settings s,
            List<CheckLoop.Decision> decisions, long stopAt, long startAt, long startedAt) {
        Optional<CheckLoop.Decision> firstStale = decisions.stream().filter(d -> d.nanos() >= stopAt && !d.allowed()
                && d.message().startsWith(STALE)).findFirst();
        long otherDenials = decisions.stream().filter(d -> !d.allowed() && !d.message().startsWith(STALE)).count();
        long allowedWhileStale = firstStale.map(st -> decisions.stream().filter(d -> d.nanos() > st.nanos()
                && d.nanos() < startAt && d.allowed()).count()).orElse(0L);
        Optional<CheckLoop.Decision> back = decisions.stream().filter(d -> d.nanos() >= startedAt && d.allowed())
                .findFirst();
        f.put("replicaChecks", decisions.size());
        f.put("stopToFirstReplicaCheckDeniedStaleMs", firstStale.map(d -> FaultMesh.millisSince(stopAt, d.nanos()))
                .orElse(-1L));
        firstStale.ifPresent(d -> f.put("replicaStaleDenial", d.message()));
        f.put("replicaChecksAllowedWhileStale", allowedWhileStale);
        f.put("replicaChecksDeniedOtherwise", otherDenials);
        f.put("startToFirstReplicaCheckAllowedMs", back.map(d -> FaultMesh.millisSince(startAt, d.nanos())).orElse(-1L));
        if (firstStale.isEmpty()) {
            problems.add("the standalone replica never denied as stale while PostgreSQL was down: its control plane "
                    + "kept feeding it a view that may miss other replicas' revocations");
        }
        if (allowedWhileStale > 0) {
            problems.add(allowedWhileStale + " replica Checks were allowed after its view became stale");
        }
        if (otherDenials > 0) {
            problems.add(otherDenials + " replica Checks were denied for another reason than staleness");
        }
        if (back.isEmpty()) {
            problems.add("the standalone replica did not allow again within 60 s of PostgreSQL's start");
        }
    }

    /** Every answered attestation has its record (with that certificate) and log entry; the chain holds. */
    static void verifyStore(ControlPlane cp, List<AttestLoad.Event> events, Map<String, Object> f,
            List<String> problems) {
        Set<String> logged = new HashSet<>();
        for (long from = 1; ; ) {
            List<IssuanceLogEntry> page = cp.issuanceLog().list(from, 1000);
            if (page.isEmpty()) {
                break;
            }
            page.forEach(e -> logged.add(new BigInteger(e.serialHex(), 16).toString(16)));
            from = page.getLast().sequence() + 1;
        }
        long lost = 0;
        for (AttestLoad.Event e : events) {
            if (!e.ok()) {
                continue;
            }
            String serial = e.agent().orElseThrow().credentials().orElseThrow().leaf().getSerialNumber().toString(16);
            boolean recorded = cp.registry().entry(e.nodeId())
                    .filter(n -> new BigInteger(n.certSerialHex(), 16).toString(16).equals(serial)).isPresent();
            if (!recorded || !logged.contains(serial)) {
                lost++;
            }
        }
        boolean intact = cp.issuanceLog().verify().intact();
        f.put("answeredWithoutRecordOrLog", lost);
        f.put("issuanceLogIntact", intact);
        if (lost > 0) {
            problems.add(lost + " answered attestations lack their record or log entry");
        }
        if (!intact) {
            problems.add("the issuance log's hash chain is broken");
        }
    }
}
