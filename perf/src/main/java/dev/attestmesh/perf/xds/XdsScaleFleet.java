package dev.attestmesh.perf.xds;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.attestmesh.perf.extauthz.JvmProcess;
import dev.attestmesh.perf.faults.FaultMesh;
import dev.attestmesh.perf.faults.ThrowawayPostgres;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.HdrHistogram.Histogram;

/**
 * The xDS scale run with every party in its own process, as an operator runs it: one or more control-plane replicas
 * ({@code attestmesh server --dev}, the CLI's main class with the images' flags, each with its own heap limit; several
 * replicas share a throwaway PostgreSQL), and the simulated Envoy fleet split over several {@link FleetProcess} JVMs,
 * so no process needs more descriptors than the machine's per-process limit allows and the control plane's heap holds
 * only the control plane. Every process checks its descriptor headroom ({@link FdHeadroom}) before the sockets open.
 *
 * <p>Phases: the fleet attests (each fleet process to its replica); the control planes' live heaps are counted after
 * a full GC ({@link HeapCensus}) before the fleet, after attestation and after every ADS stream has its first SDS
 * response; then a policy change that touches every node is posted to the first replica's admin API (as {@code
 * attestmesh policy apply} does) and timed until every node has received a newer version and ACKed it; the
 * replicas' own sync state (admin API, node list) must then show every node's SDS SYNCED.
 */
public final class XdsScaleFleet {
    public static final String SECRET_CLASS = "io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final Duration PHASE = Duration.ofMinutes(15);

    /** What to run. */
    public record Settings(int nodes, int replicas, int processes, int concurrency, String serverHeap,
            String fleetHeap, List<String> serverJvmOptions) {}

    /** One replica's memory: its live heap before the fleet, after attestation, with every stream open. */
    public record ReplicaMemory(int nodes, HeapCensus start, HeapCensus attested, HeapCensus connected) {
        public double kibPerNode() {
            return (connected.liveBytes() - start.liveBytes()) / 1024.0 / Math.max(1, nodes);
        }

        public double registryKibPerNode() {
            return (attested.liveBytes() - start.liveBytes()) / 1024.0 / Math.max(1, nodes);
        }

        public double streamKibPerNode() {
            return (connected.liveBytes() - attested.liveBytes()) / 1024.0 / Math.max(1, nodes);
        }
    }

    /** What one run measured. */
    public record Result(Settings settings, int attested, int attestFailures, double attestSeconds, int connected,
            double connectSeconds, List<ReplicaMemory> memory, int changed, double convergenceSeconds,
            double pushP50Ms, double pushP99Ms, double pushMaxMs, int syncedAtServers) {}

    private record Replica(JvmProcess process, int grpcPort, int adminPort, Path data) {
        String target() {
            return "127.0.0.1:" + grpcPort;
        }

        String admin() {
            return "http://127.0.0.1:" + adminPort;
        }
    }

    private XdsScaleFleet() {}

    public static Result run(Settings s) throws Exception {
        Path dir = Files.createTempDirectory("attestmesh-xds-scale");
        FaultMesh.writeFiles(dir);
        String token = HexFormat.of().formatHex(new SecureRandom().generateSeed(16));
        List<Replica> replicas = new ArrayList<>();
        List<FleetChild> fleet = new ArrayList<>();
        ThrowawayPostgres pg = null;
        try {
            Map<String, String> env = new HashMap<>(Map.of("ATTESTMESH_CA_KEY", "xds-scale-throwaway-ca-key",
                    "ATTESTMESH_ADMIN_TOKEN", token,
                    // The whole simulated fleet comes from 127.0.0.1; a real one comes from one address per host, so
                    // the per-peer Challenge budget (50/s by default) would cap the attestation phase, not measure it.
                    "ATTESTMESH_CHALLENGE_PEER_RATE", "1000000", "ATTESTMESH_CHALLENGE_PEER_BURST", "1000000"));
            if (s.replicas() > 1) {
                ThrowawayPostgres.unavailableReason().ifPresent(r -> {
                    throw new IllegalStateException("--replicas " + s.replicas() + " needs PostgreSQL: " + r);
                });
                pg = ThrowawayPostgres.start();
                env.put("ATTESTMESH_DATABASE_URL", pg.jdbcUrl());
            }
            for (int i = 0; i < s.replicas(); i++) {
                // The first replica creates the CA; the others open it, so they start after it is healthy
                replicas.add(startReplica(dir, i, s.serverHeap(), s.serverJvmOptions(), env));
            }
            int[] perReplica = new int[s.replicas()];
            int per = (s.nodes() + s.processes() - 1) / s.processes();
            for (int k = 0; k < s.processes(); k++) {
                perReplica[k % s.replicas()] += Math.max(0, Math.min(per, s.nodes() - k * per));
            }
            for (int i = 0; i < replicas.size(); i++) {
                Optional<String> refusal = FdHeadroom.of(replicas.get(i).process().pid(), perReplica[i])
                        .refusal("control plane " + i);
                if (refusal.isPresent()) {
                    throw new IllegalStateException(refusal.get());
                }
            }
            List<HeapCensus> start = census(replicas);
            Path bundle = replicas.get(0).data().resolve("ca-bundle.pem");
            for (int k = 0; k < s.processes(); k++) {
                int count = Math.max(0, Math.min(per, s.nodes() - k * per));
                if (count > 0) {
                    fleet.add(FleetChild.start("fleet-" + k, dir, List.of("-Xmx" + s.fleetHeap()),
                            replicas.get(k % s.replicas()).target(), bundle, k * per, count, s.concurrency()));
                }
            }
            int attested = 0;
            int failures = 0;
            double attestSeconds = 0;
            for (FleetChild c : fleet) {
                String[] w = c.await("ATTESTED", PHASE);
                attested += Integer.parseInt(w[0]);
                failures += Integer.parseInt(w[1]);
                attestSeconds = Math.max(attestSeconds, Double.parseDouble(w[2]));
                if (Integer.parseInt(w[1]) > 0) {
                    System.err.println(c.name() + ": " + w[1] + " attestations failed; its log ends:\n" + c.tail());
                }
            }
            List<HeapCensus> afterAttest = census(replicas);
            long t1 = System.nanoTime();
            for (FleetChild c : fleet) {
                c.send("CONNECT");
            }
            int connected = 0;
            for (FleetChild c : fleet) {
                connected += Integer.parseInt(c.await("CONNECTED", PHASE)[0]);
            }
            double connectSeconds = (System.nanoTime() - t1) / 1e9;
            List<HeapCensus> afterConnect = census(replicas);
            List<ReplicaMemory> memory = new ArrayList<>();
            for (int i = 0; i < replicas.size(); i++) {
                memory.add(new ReplicaMemory(perReplica[i], start.get(i), afterAttest.get(i), afterConnect.get(i)));
            }

            for (FleetChild c : fleet) {
                c.send("ARM");
            }
            for (FleetChild c : fleet) {
                c.await("ARMED", Duration.ofSeconds(60));
            }
            long t0 = System.nanoTime();
            applyPolicies(replicas.get(0), token, changedPolicies());
            Histogram push = new Histogram(3);
            int changed = 0;
            long last = t0;
            for (FleetChild c : fleet) {
                c.send("REPORT " + t0 + " 60");
            }
            for (FleetChild c : fleet) {
                String[] w = c.await("CHANGED", Duration.ofSeconds(120));
                changed += Integer.parseInt(w[0]);
                last = Math.max(last, Long.parseLong(w[1]));
                push.add(Histogram.decodeFromCompressedByteBuffer(ByteBuffer.wrap(Base64.getDecoder().decode(w[2])), 0));
            }
            Thread.sleep(1000); // the last ACKs reach the control planes
            int synced = 0;
            for (Replica r : replicas) {
                synced += syncedNodes(r, token);
            }
            return new Result(s, attested, failures, attestSeconds, connected, connectSeconds, memory, changed,
                    (last - t0) / 1e9, push.getValueAtPercentile(50) / 1e6, push.getValueAtPercentile(99) / 1e6,
                    push.getMaxValue() / 1e6, synced);
        } finally {
            for (FleetChild c : fleet) {
                c.stop();
            }
            for (Replica r : replicas) {
                r.process().stop();
            }
            if (pg != null) {
                pg.close();
            }
            FaultMesh.delete(dir);
        }
    }

    /** The change: {@code default} accepts a second measurement and a policy {@code fleet} is added. */
    static String changedPolicies() {
        return FaultMesh.POLICIES.replace("measurement: [\"" + FaultMesh.MEASUREMENT + "\"]",
                "measurement: [\"" + FaultMesh.MEASUREMENT + "\", \"" + "b2".repeat(48) + "\"]") + """
                  - id: fleet
                    tee: [sim]
                    reference:
                      sim:
                        measurement: ["%s"]
                """.formatted(FaultMesh.MEASUREMENT);
    }

    private static Replica startReplica(Path dir, int i, String heap, List<String> jvmOptions,
            Map<String, String> env) throws IOException, InterruptedException {
        int grpcPort = FaultMesh.freePort();
        int adminPort = FaultMesh.freePort();
        Path data = dir.resolve("cp-data-" + i);
        List<String> jvm = new ArrayList<>(List.of("-Xms" + heap, "-Xmx" + heap));
        jvm.addAll(jvmOptions.stream().map(o -> o.replace("{replica}", Integer.toString(i))).toList());
        JvmProcess p = JvmProcess.start("control-plane-" + i, dir, jvm, List.of(
                "server", "--dev", "--data-dir", data.toString(), "--grpc-bind", "127.0.0.1", "--grpc-port",
                Integer.toString(grpcPort), "--admin-port", Integer.toString(adminPort), "--policy-file",
                dir.resolve("policies.yaml").toString(), "--registration-file",
                dir.resolve("registrations.yaml").toString()), env);
        Replica r = new Replica(p, grpcPort, adminPort, data);
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException("control plane " + i + " exited while starting:\n" + p.tail());
            }
            try {
                if (HTTP.send(HttpRequest.newBuilder(URI.create(r.admin() + "/health")).timeout(Duration.ofSeconds(2))
                        .build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return r;
                }
            } catch (IOException e) {
                // Not listening yet.
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("control plane " + i + " not healthy within 120 s:\n" + p.tail());
    }

    private static List<HeapCensus> census(List<Replica> replicas) throws IOException, InterruptedException {
        List<HeapCensus> out = new ArrayList<>();
        for (Replica r : replicas) {
            out.add(HeapCensus.of(r.process().pid()));
        }
        return out;
    }

    private static void applyPolicies(Replica r, String token, String yaml) throws IOException, InterruptedException {
        HttpResponse<String> resp = HTTP.send(HttpRequest.newBuilder(URI.create(r.admin() + "/api/v1/policies"))
                .header("Authorization", "Bearer " + token).header("Content-Type", "application/yaml")
                .timeout(Duration.ofSeconds(30)).POST(HttpRequest.BodyPublishers.ofString(yaml)).build(),
                HttpResponse.BodyHandlers.ofString());
        if (resp.statusCode() != 200) {
            throw new IllegalStateException("policy change refused: " + resp.statusCode() + " " + resp.body());
        }
    }

    /** Nodes whose SDS state at this replica is SYNCED (ACKed what was sent), from the admin API's node list. */
    private static int syncedNodes(Replica r, String token) throws IOException, InterruptedException {
        int synced = 0;
        int offset = 0;
        for (int page = 0; page < 1000; page++) {
            HttpResponse<String> resp = HTTP.send(HttpRequest.newBuilder(URI.create(r.admin() + "/api/v1/nodes?limit=1000"
                    + "&offset=" + offset)).header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(60))
                    .build(), HttpResponse.BodyHandlers.ofString());
            if (resp.statusCode() != 200) {
                throw new IllegalStateException("node list: " + resp.statusCode() + " " + resp.body());
            }
            for (JsonNode n : JSON.readTree(resp.body())) {
                JsonNode sds = n.path("xds").path(FleetProcess.SECRET_TYPE);
                if ("SYNCED".equals(sds.path("state").asText())
                        && sds.path("ackedVersion").asText().equals(sds.path("sentVersion").asText())) {
                    synced++;
                }
            }
            Optional<String> next = resp.headers().firstValue("X-Next-Offset");
            if (next.isEmpty()) {
                return synced;
            }
            offset = Integer.parseInt(next.get());
        }
        return synced;
    }
}
