package dev.attestmesh.perf.xds;

import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.perf.sim.SimNodeAttester;
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
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;

/**
 * One process of the simulated Envoy fleet ({@link XdsScaleFleet} starts several): its nodes attest with the
 * simulated TEE, then each holds one ADS stream over mTLS with its own certificate, asks for its SDS secrets and ACKs
 * every response as Envoy does. Before opening a socket it checks its own file-descriptor headroom ({@link
 * FdHeadroom}) and refuses with the numbers instead of failing half-way.
 *
 * <p>Arguments: {@code target bundle-pem first-index count concurrency}; nodes are {@code envoy-<index>}. It talks to
 * the harness in lines: it prints {@code FLEET ATTESTED ok failed seconds}, then on {@code CONNECT} opens the streams and prints {@code FLEET
 * CONNECTED n seconds} (or
 * {@code FLEET REFUSED why} and exits 3), then answers {@code ARM} with {@code FLEET ARMED} (every node remembers its
 * current version) and {@code REPORT start-nanos timeout-seconds} with {@code FLEET CHANGED n max-nanos histogram}
 * once every node has received and ACKed a newer version or the timeout passed: the histogram (HdrHistogram, base64)
 * holds each node's receive time minus {@code start-nanos} ({@link System#nanoTime()} is the machine's monotonic
 * clock, shared by the processes). {@code EXIT} closes every stream. Every wait is bounded.
 */
public final class FleetProcess {
    static final String SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";
    static final String PREFIX = "FLEET ";
    private static final long PHASE_SECONDS = 600;

    private record Identity(String nodeId, PrivateKey key, List<X509Certificate> chain) {}

    /** One simulated Envoy: ACKs every response; once armed, records when a newer version arrives. */
    static final class Envoy implements StreamObserver<DiscoveryResponse> {
        final String nodeId;
        final CountDownLatch first;
        StreamObserver<DiscoveryRequest> requests;
        volatile String version = "";
        volatile String armedVersion;
        volatile long changedAt;
        volatile CountDownLatch changed;

        Envoy(String nodeId, CountDownLatch first) {
            this.nodeId = nodeId;
            this.first = first;
        }

        DiscoveryRequest.Builder request() {
            return DiscoveryRequest.newBuilder().setNode(Node.newBuilder().setId(nodeId).setCluster("scale"))
                    .setTypeUrl(SECRET_TYPE).addResourceNames("default").addResourceNames("ROOTCA")
                    .addResourceNames("policy:default");
        }

        @Override
        public synchronized void onNext(DiscoveryResponse r) {
            long now = System.nanoTime();
            // The ACK goes out first, as Envoy's does once the resources are applied.
            requests.onNext(request().setVersionInfo(r.getVersionInfo()).setResponseNonce(r.getNonce()).build());
            boolean wasFirst = version.isEmpty();
            version = r.getVersionInfo();
            if (wasFirst) {
                first.countDown();
            }
            CountDownLatch c = changed;
            if (c != null && armedVersion != null && !version.equals(armedVersion)) {
                changedAt = now;
                changed = null;
                c.countDown();
            }
        }

        @Override
        public void onError(Throwable t) {
            System.err.println("ADS stream of " + nodeId + " failed: " + t);
        }

        @Override
        public void onCompleted() {}
    }

    private FleetProcess() {}

    public static void main(String[] args) throws Exception {
        String target = args[0];
        List<X509Certificate> bundle = Pem.parseCertificates(Files.readString(Path.of(args[1]), StandardCharsets.US_ASCII));
        int firstIndex = Integer.parseInt(args[2]);
        int count = Integer.parseInt(args[3]);
        int concurrency = Integer.parseInt(args[4]);
        String who = "fleet process " + ProcessHandle.current().pid() + " (nodes " + firstIndex + ".."
                + (firstIndex + count - 1) + ")";
        // One socket per ADS stream, one for attestation
        FdHeadroom headroom = FdHeadroom.of(ProcessHandle.current().pid(), count + 1L);
        Optional<String> refusal = headroom.refusal(who);
        if (refusal.isPresent()) {
            System.out.println(PREFIX + "REFUSED " + refusal.get());
            System.exit(3);
        }
        System.err.println(who + ": " + headroom);

        long t0 = System.nanoTime();
        AtomicInteger failed = new AtomicInteger();
        List<Identity> ids = attestAll(target, bundle, firstIndex, count, concurrency, failed);
        System.out.printf(java.util.Locale.ROOT, PREFIX + "ATTESTED %d %d %.2f%n", ids.size(), failed.get(),
                (System.nanoTime() - t0) / 1e9);

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String go = in.readLine(); // the harness measures the control plane's heap between the two phases
        if (!"CONNECT".equals(go)) {
            System.exit(0);
        }
        NioEventLoopGroup group = new NioEventLoopGroup(1);
        ExecutorService callbacks = Executors.newFixedThreadPool(1);
        List<ManagedChannel> channels = new ArrayList<>();
        List<Envoy> envoys = new ArrayList<>();
        CountDownLatch first = new CountDownLatch(ids.size());
        long t1 = System.nanoTime();
        for (Identity id : ids) {
            ManagedChannel ch = NettyChannelBuilder.forTarget(target)
                    .sslContext(GrpcSslContexts.forClient().trustManager(bundle.toArray(X509Certificate[]::new))
                            .keyManager(id.key(), id.chain().toArray(X509Certificate[]::new)).build())
                    .eventLoopGroup(group).channelType(NioSocketChannel.class).executor(callbacks).build();
            channels.add(ch);
            Envoy e = new Envoy(id.nodeId(), first);
            synchronized (e) { // a StreamObserver is not thread-safe: the ACK path also sends under this lock
                e.requests = AggregatedDiscoveryServiceGrpc.newStub(ch).streamAggregatedResources(e);
                e.requests.onNext(e.request().build());
            }
            envoys.add(e);
        }
        if (!first.await(PHASE_SECONDS, TimeUnit.SECONDS)) {
            System.err.println(first.getCount() + " nodes never received their first SDS response");
        }
        System.out.printf(java.util.Locale.ROOT, PREFIX + "CONNECTED %d %.2f%n", ids.size() - first.getCount(),
                (System.nanoTime() - t1) / 1e9);

        CountDownLatch changed = null;
        String line;
        while ((line = in.readLine()) != null) {
            String[] w = line.trim().split(" ");
            switch (w[0]) {
                case "ARM" -> {
                    changed = new CountDownLatch(envoys.size());
                    for (Envoy e : envoys) {
                        synchronized (e) {
                            e.armedVersion = e.version;
                            e.changedAt = 0;
                            e.changed = changed;
                        }
                    }
                    System.out.println(PREFIX + "ARMED " + envoys.size());
                }
                case "REPORT" -> {
                    long start = Long.parseLong(w[1]);
                    long timeout = Long.parseLong(w[2]);
                    if (changed == null) {
                        throw new IllegalStateException("REPORT before ARM");
                    }
                    changed.await(timeout, TimeUnit.SECONDS);
                    Histogram h = new Histogram(3);
                    AtomicLong max = new AtomicLong(start);
                    int n = 0;
                    for (Envoy e : envoys) {
                        long at = e.changedAt;
                        if (at != 0) {
                            n++;
                            h.recordValue(Math.max(0, at - start));
                            max.accumulateAndGet(at, Math::max);
                        }
                    }
                    ByteBuffer buf = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
                    int len = h.encodeIntoCompressedByteBuffer(buf);
                    System.out.println(PREFIX + "CHANGED " + n + " " + max.get() + " "
                            + Base64.getEncoder().encodeToString(java.util.Arrays.copyOf(buf.array(), len)));
                }
                case "EXIT" -> {
                    for (ManagedChannel ch : channels) {
                        ch.shutdownNow();
                    }
                    group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
                    callbacks.shutdownNow();
                    System.exit(0);
                }
                default -> System.err.println("unknown command: " + line);
            }
        }
        System.exit(0); // the harness went away
    }

    private static List<Identity> attestAll(String target, List<X509Certificate> bundle, int firstIndex, int count,
            int concurrency, AtomicInteger failed) throws Exception {
        ManagedChannel ch = ControlPlaneChannels.open(target, bundle, Optional.empty());
        List<Identity> out = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger next = new AtomicInteger();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(PHASE_SECONDS);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < concurrency; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                SimNodeAttester attester = new SimNodeAttester(ch);
                int n;
                while ((n = next.getAndIncrement()) < count && System.nanoTime() < deadline) {
                    String node = "envoy-" + (firstIndex + n);
                    try {
                        SimNodeAttester.Attested a = attester.attest(node);
                        out.add(new Identity(a.nodeId(), a.key(), a.chain()));
                    } catch (Exception e) {
                        failed.incrementAndGet();
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
