package dev.attestmesh.perf.xds;

import com.google.protobuf.ByteString;
import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.NodeKeyPair;
import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestResponse;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.issuance.ReportDataBinding;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.EvidenceVerifierSet;
import dev.attestmesh.server.xds.XdsSyncTracker;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.HdrHistogram.ConcurrentHistogram;

/**
 * A fleet of simulated Envoys: each attests with the simulated TEE, then holds one ADS stream over mTLS
 * with its own certificate, asks for its SDS secrets and ACKs every response, as Envoy does. All clients
 * share one Netty event loop, so thousands fit in one process. Every wait is bounded in time.
 */
public final class SimulatedEnvoyFleet {
    static final String SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
    static final String MEASUREMENT = "a1".repeat(48);
    static final long PHASE_TIMEOUT_SECONDS = 300;

    /** What one run measured. */
    public record Result(int connected, double attestSeconds, double connectSeconds, double heapMiB,
            double convergenceSeconds, double pushP50Ms, double pushP99Ms, int syncedAtServer) {}

    private record Identity(String nodeId, PrivateKey key, List<X509Certificate> chain) {}

    /** One simulated Envoy: ACKs every response, records when a response newer than {@code since} arrives. */
    static final class Envoy implements StreamObserver<DiscoveryResponse> {
        final String nodeId;
        StreamObserver<DiscoveryRequest> requests;
        volatile long watchFromNanos = Long.MAX_VALUE;
        volatile String baselineVersion = "";
        final CountDownLatch first;
        volatile CountDownLatch changed;
        final ConcurrentHistogram latency;

        Envoy(String nodeId, CountDownLatch first, ConcurrentHistogram latency) {
            this.nodeId = nodeId;
            this.first = first;
            this.latency = latency;
        }

        DiscoveryRequest.Builder request() {
            return DiscoveryRequest.newBuilder().setNode(Node.newBuilder().setId(nodeId).setCluster("scale"))
                    .setTypeUrl(SECRET_TYPE).addResourceNames("default").addResourceNames("ROOTCA")
                    .addResourceNames("policy:default");
        }

        @Override
        public synchronized void onNext(DiscoveryResponse r) {
            requests.onNext(request().setVersionInfo(r.getVersionInfo()).setResponseNonce(r.getNonce()).build());
            if (first.getCount() > 0 && baselineVersion.isEmpty()) {
                baselineVersion = r.getVersionInfo();
                first.countDown();
                return;
            }
            CountDownLatch c = changed;
            if (c != null && !r.getVersionInfo().equals(baselineVersion) && c.getCount() > 0) {
                latency.recordValue(Math.max(0, System.nanoTime() - watchFromNanos));
                baselineVersion = r.getVersionInfo();
                c.countDown();
                changed = null;
            }
        }

        @Override
        public void onError(Throwable t) {
            System.err.println("ADS stream of " + nodeId + " failed: " + t);
        }

        @Override
        public void onCompleted() {}
    }

    private SimulatedEnvoyFleet() {}

    public static Result run(int nodes, int concurrency) throws Exception {
        Path dir = Files.createTempDirectory("attestmesh-xds-scale");
        NioEventLoopGroup group = new NioEventLoopGroup(2);
        ExecutorService callbacks = Executors.newFixedThreadPool(2);
        List<ManagedChannel> channels = new ArrayList<>();
        try (ControlPlane cp = ControlPlane.start(ControlPlaneSettings.forTests(dir, Optional.empty()),
                Clock.systemUTC(), EvidenceVerifierSet.defaults())) {
            cp.policies().replace(PolicyDocuments.parse(policy(List.of(MEASUREMENT)), "xds-scale"));
            cp.registrations().replace(dev.attestmesh.identity.RegistrationDocuments.parse("""
                    registrations:
                      - id: nodes
                        spiffeId: spiffe://attestmesh.local/node/{nodeId}
                        policies: [default]
                    """, "perf", cp.settings().trustDomain()));
            String target = "127.0.0.1:" + cp.grpcPort();

            long t0 = System.nanoTime();
            List<Identity> ids = attestAll(cp, target, nodes, concurrency);
            double attestSeconds = (System.nanoTime() - t0) / 1e9;

            ConcurrentHistogram pushLatency = new ConcurrentHistogram(3);
            CountDownLatch first = new CountDownLatch(ids.size());
            List<Envoy> envoys = new ArrayList<>(ids.size());
            long t1 = System.nanoTime();
            for (Identity id : ids) {
                ManagedChannel ch = NettyChannelBuilder.forTarget(target)
                        .sslContext(GrpcSslContexts.forClient().trustManager(cp.trustBundle().toArray(X509Certificate[]::new))
                                .keyManager(id.key(), id.chain().toArray(X509Certificate[]::new)).build())
                        .eventLoopGroup(group).channelType(NioSocketChannel.class).executor(callbacks)
                        .build();
                channels.add(ch);
                Envoy e = new Envoy(id.nodeId(), first, pushLatency);
                synchronized (e) { // a StreamObserver is not thread-safe: the ACK path also sends under this lock
                    e.requests = AggregatedDiscoveryServiceGrpc.newStub(ch).streamAggregatedResources(e);
                    e.requests.onNext(e.request().build());
                }
                envoys.add(e);
            }
            if (!first.await(PHASE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                System.err.println((first.getCount()) + " nodes never received their first SDS response");
            }
            double connectSeconds = (System.nanoTime() - t1) / 1e9;
            int connected = (int) (ids.size() - first.getCount());

            for (int i = 0; i < 3; i++) {
                System.gc();
                Thread.sleep(200);
            }
            Runtime rt = Runtime.getRuntime();
            double heapMiB = (rt.totalMemory() - rt.freeMemory()) / (1024.0 * 1024.0);

            // A policy change touching every node: 'default' changes (re-appraisal moves every node to its version
            // 2) and a policy 'fleet' is added, whose SDS validation context every node's snapshot then carries.
            CountDownLatch changed = new CountDownLatch(connected);
            long start = System.nanoTime();
            for (Envoy e : envoys) {
                synchronized (e) {
                    if (!e.baselineVersion.isEmpty()) {
                        e.watchFromNanos = start;
                        e.changed = changed;
                    }
                }
            }
            cp.policies().replace(PolicyDocuments.parse(policy(List.of(MEASUREMENT, "b2".repeat(48)))
                    + FLEET_POLICY, "xds-scale"));
            if (!changed.await(PHASE_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                System.err.println(changed.getCount() + " nodes never received the change");
            }
            double convergence = (System.nanoTime() - start) / 1e9;
            Thread.sleep(500); // let the last ACKs reach the control plane
            int synced = 0;
            for (Identity id : ids) {
                if (cp.xdsSync().state(id.nodeId(), SECRET_TYPE) == XdsSyncTracker.SyncState.SYNCED) {
                    synced++;
                }
            }
            return new Result(connected, attestSeconds, connectSeconds, heapMiB, convergence,
                    pushLatency.getValueAtPercentile(50) / 1e6, pushLatency.getValueAtPercentile(99) / 1e6, synced);
        } finally {
            for (ManagedChannel ch : channels) {
                ch.shutdownNow();
            }
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            callbacks.shutdownNow();
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static final String FLEET_POLICY = """
                  - id: fleet
                    tee: [sim]
                    reference:
                      sim:
                        measurement: ["%s"]
                """.formatted(MEASUREMENT);

    private static String policy(List<String> measurements) {
        return """
                policies:
                  - id: default
                    tee: [sim]
                    reference:
                      sim:
                        measurement: [%s]
                """.formatted(String.join(", ", measurements.stream().map(m -> "\"" + m + "\"").toList()));
    }

    private static List<Identity> attestAll(ControlPlane cp, String target, int nodes, int concurrency)
            throws Exception {
        ManagedChannel ch = ControlPlaneChannels.open(target, cp.trustBundle(), Optional.empty());
        SimulatedTee tee = SimulatedTee.withMeasurementHex(MEASUREMENT);
        List<Identity> out = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicInteger next = new AtomicInteger();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(PHASE_TIMEOUT_SECONDS);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < concurrency; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                var stub = AttestationServiceGrpc.newBlockingStub(ch);
                CertificateFactory cf;
                try {
                    cf = CertificateFactory.getInstance("X.509");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
                int n;
                while ((n = next.getAndIncrement()) < nodes && System.nanoTime() < deadline) {
                    String node = "envoy-" + n;
                    NodeKeyPair key = NodeKeyPair.generate();
                    try {
                        byte[] nonce = stub.withDeadlineAfter(30, TimeUnit.SECONDS).challenge(
                                ChallengeRequest.newBuilder().setNodeId(node).build()).getNonce().toByteArray();
                        byte[] ev = tee.collect(ReportDataBinding.expected(nonce, key.subjectPublicKeyInfoDer()));
                        AttestResponse r = stub.withDeadlineAfter(30, TimeUnit.SECONDS).attest(AttestRequest
                                .newBuilder().setNodeId(node).setTee("sim").setEvidence(ByteString.copyFrom(ev))
                                .setCsr(ByteString.copyFrom(key.csrDer(node))).setNonce(ByteString.copyFrom(nonce))
                                .build());
                        List<X509Certificate> chain = new ArrayList<>();
                        for (ByteString der : r.getCertChainList()) {
                            chain.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der.toByteArray())));
                        }
                        out.add(new Identity(node, key.privateKey(), chain));
                    } catch (Exception e) {
                        System.err.println("attestation of " + node + " failed: " + e);
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        ch.shutdownNow();
        return out;
    }
}
