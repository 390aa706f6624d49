package dev.attestmesh.perf;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.Claims;
import dev.attestmesh.api.v1.NodeRecord;
import dev.attestmesh.api.v1.PolicyRef;
import dev.attestmesh.api.v1.RegistryEvent;
import dev.attestmesh.api.v1.WatchRegistryRequest;
import dev.attestmesh.authz.watch.WatchedRegistryView;
import dev.attestmesh.ca.MeshCa;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A standalone ext_authz replica's registry view applying the control plane's deltas ({@code perf/run replica-delta}):
 * a {@link WatchedRegistryView} over an in-process gRPC stream from a scripted control plane holds a snapshot of
 * {@code N} nodes, then receives one-node deltas (a node renewing: its record replaced) as fast as it applies them.
 * Reports deltas applied per second and the time per delta for each registry size; the floor is the same deltas
 * applied to a registry of {@value #FLOOR_NODES} nodes in the same run (transport, decoding and the change
 * notification, with nothing that grows with the registry), so the ratio says how much of a delta's cost grows with
 * the registry. Every delta is awaited through the view's change listener; bounded by count.
 *
 * <p>Arguments (all optional): {@code --nodes 1000,20000} registry sizes, {@code --deltas 5000} per measured phase,
 * {@code --rounds 3}. Prints a table, then one line of JSON.
 */
public final class ReplicaDeltaHarness {
    static final int FLOOR_NODES = 10;

    private ReplicaDeltaHarness() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = HarnessSupport.parse(args, java.util.Set.of("nodes", "deltas", "rounds"));
        int[] sizes = Arrays.stream(a.getOrDefault("nodes", "1000,20000").split(",")).map(String::strip)
                .mapToInt(Integer::parseInt).toArray();
        int deltas = Integer.parseInt(a.getOrDefault("deltas", "5000"));
        int rounds = Integer.parseInt(a.getOrDefault("rounds", "3"));
        if (deltas < 1 || deltas > 1_000_000 || rounds < 1 || rounds > 20) {
            throw new IllegalArgumentException("--deltas must be in [1, 1000000] and --rounds in [1, 20]");
        }
        List<ByteString> bundle = new ArrayList<>();
        for (var c : MeshCa.generate("perf.attestmesh.local", Clock.systemUTC()).trustBundle()) {
            bundle.add(ByteString.copyFrom(c.getEncoded()));
        }
        System.out.printf(Locale.ROOT, "replica delta harness: sizes %s, %d one-node deltas per phase, %d round(s), "
                + "floor: the same deltas on %d nodes%n", Arrays.toString(sizes), deltas, rounds, FLOOR_NODES);
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("harness", "replica-delta");
        json.put("loadAverageBefore", HarnessSupport.loadAverage());
        try (Replica floor = Replica.start(FLOOR_NODES, bundle)) {
            floor.apply(deltas); // warm-up
            for (int n : sizes) {
                try (Replica r = Replica.start(n, bundle)) {
                    r.apply(deltas); // warm-up at this size
                    double[] floorPerS = new double[rounds];
                    double[] perS = new double[rounds];
                    for (int round = 0; round < rounds; round++) {
                        floorPerS[round] = floor.apply(deltas);
                        perS[round] = r.apply(deltas);
                        System.out.printf(Locale.ROOT, "  %6d nodes, round %d: %9.0f deltas/s (%.3f ms each); floor "
                                + "(%d nodes) %9.0f deltas/s; ratio %.3f%n", n, round + 1, perS[round],
                                1000 / perS[round], FLOOR_NODES, floorPerS[round], perS[round] / floorPerS[round]);
                    }
                    double med = median(perS);
                    double medFloor = median(floorPerS);
                    json.put("deltasPerSecondAt" + n, Math.round(med));
                    json.put("msPerDeltaAt" + n, HarnessSupport.round(1000 / med));
                    json.put("floorDeltasPerSecondFor" + n, Math.round(medFloor));
                    json.put("ratioToFloorAt" + n, HarnessSupport.round(med / medFloor));
                }
            }
        }
        json.put("deltasPerPhase", deltas);
        json.put("rounds", rounds);
        json.put("loadAverageAfter", HarnessSupport.loadAverage());
        System.out.println(HarnessSupport.toJson(json));
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /** A scripted control plane and the replica's view of it, holding {@code n} nodes. */
    private static final class Replica implements AutoCloseable {
        private final Server server;
        private final ManagedChannel channel;
        private final WatchedRegistryView view;
        private final StreamObserver<RegistryEvent> stream;
        private final AtomicLong changes = new AtomicLong();
        private final int nodes;
        private long revision = 1;
        private long next;

        private Replica(Server server, ManagedChannel channel, WatchedRegistryView view,
                StreamObserver<RegistryEvent> stream, int nodes) {
            this.server = server;
            this.channel = channel;
            this.view = view;
            this.stream = stream;
            this.nodes = nodes;
        }

        static Replica start(int n, List<ByteString> bundle) throws Exception {
            LinkedBlockingQueue<StreamObserver<RegistryEvent>> streams = new LinkedBlockingQueue<>();
            String name = InProcessServerBuilder.generateName();
            Server server = InProcessServerBuilder.forName(name).addService(
                    new AttestationServiceGrpc.AttestationServiceImplBase() {
                        @Override
                        public void watchRegistry(WatchRegistryRequest request, StreamObserver<RegistryEvent> out) {
                            streams.add(out);
                        }
                    }).build().start();
            ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
            WatchedRegistryView view = WatchedRegistryView.start(channel, new WatchedRegistryView.Settings("perf",
                    Duration.ofMinutes(10), Duration.ofMillis(100), Duration.ofSeconds(1)));
            StreamObserver<RegistryEvent> s = streams.poll(10, TimeUnit.SECONDS);
            if (s == null) {
                throw new IllegalStateException("the replica did not subscribe");
            }
            Replica r = new Replica(server, channel, view, s, n);
            view.addTargetedChangeListener(c -> r.changes.incrementAndGet());
            RegistryEvent.Builder snapshot = RegistryEvent.newBuilder().setFull(true).setRevision(1)
                    .addPolicyVersions(PolicyRef.newBuilder().setId("default").setVersion(1)).addAllTrustBundle(bundle);
            for (int i = 0; i < n; i++) {
                snapshot.addNodes(node(i, 0));
            }
            s.onNext(snapshot.build());
            r.await(1, Duration.ofSeconds(60));
            return r;
        }

        /** Sends {@code count} one-node deltas and waits until the view has applied them; deltas per second. */
        double apply(int count) throws InterruptedException {
            long target = changes.get() + count;
            long t0 = System.nanoTime();
            for (int i = 0; i < count; i++) {
                int id = (int) (next++ % nodes);
                stream.onNext(RegistryEvent.newBuilder().setRevision(++revision).addNodes(node(id, revision)).build());
            }
            await(target, Duration.ofMinutes(5));
            return count / ((System.nanoTime() - t0) / 1e9);
        }

        private void await(long count, Duration limit) throws InterruptedException {
            long deadline = System.nanoTime() + limit.toNanos();
            while (changes.get() < count) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("the view applied " + changes.get() + " of " + count
                            + " changes within " + limit);
                }
                Thread.sleep(1);
            }
        }

        /** Node {@code i}'s record at {@code version}: its certificate hash changes, as when it renews. */
        static NodeRecord node(int i, long version) {
            String id = "node-" + i;
            byte[] cert = new byte[32];
            for (int b = 0; b < 8; b++) {
                cert[b] = (byte) (version >>> (8 * b));
            }
            return NodeRecord.newBuilder().setNodeId(id).setSpiffeId("spiffe://perf.attestmesh.local/ns/perf/sa/svc-"
                    + (i % 500)).setState("ATTESTED").setMeasurement("ab".repeat(48))
                    .setClaims(Claims.newBuilder().setTee("sim"))
                    .addSatisfiedPolicies(PolicyRef.newBuilder().setId("default").setVersion(1))
                    .addAcceptedCertificateSha256(ByteString.copyFrom(cert))
                    .setEvidenceExpiresAt(Timestamp.newBuilder().setSeconds(Instant.now().getEpochSecond() + 3600))
                    .build();
        }

        @Override
        public void close() throws InterruptedException {
            view.close();
            channel.shutdownNow();
            server.shutdownNow();
            server.awaitTermination(5, TimeUnit.SECONDS);
        }
    }
}
