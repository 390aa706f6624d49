package dev.attestmesh.server.testing;

import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.EvidenceVerifierSet;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A control plane on loopback with an ephemeral port, in a temporary directory, plus helpers to attest
 * simulated-TEE nodes and to present a node's Envoy identity over a real ADS stream.
 */
public final class TestMesh implements AutoCloseable {
    public static final String GOOD = "a1".repeat(48);
    public static final String STRICT = "c3".repeat(48);
    public static final String POLICIES = """
            policies:
              - id: default
                tee: [sim]
                reference:
                  sim:
                    measurement: ["%s", "%s"]
              - id: strict
                tee: [sim]
                reference:
                  sim:
                    measurement: ["%s"]
            """.formatted(GOOD, STRICT, STRICT);

    /**
     * One identity per node ({@code spiffe://attestmesh.local/node/<id>}) for every node satisfying
     * {@code default}: what the tests written before registrations expect.
     */
    public static final String REGISTRATIONS = """
            registrations:
              - id: nodes
                spiffeId: spiffe://attestmesh.local/node/{nodeId}
                policies: [default]
            """;

    /** Writes {@link #REGISTRATIONS} into {@code dir} and returns the file. */
    public static Path writeRegistrations(Path dir) {
        try {
            Files.createDirectories(dir);
            return Files.writeString(dir.resolve("registrations.yaml"), REGISTRATIONS);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public final Path dir;
    public ControlPlane cp;

    public TestMesh(Optional<String> meshDocument) throws IOException {
        dir = Files.createTempDirectory("attestmesh-mesh");
        Files.writeString(dir.resolve("policies.yaml"), POLICIES);
        Optional<Path> meshFile = Optional.empty();
        if (meshDocument.isPresent()) {
            meshFile = Optional.of(Files.writeString(dir.resolve("mesh.yaml"), meshDocument.get()));
        }
        start(meshFile);
    }

    /** (Re)starts the control plane on the same data directory. */
    public void start(Optional<Path> meshFile) throws IOException {
        cp = ControlPlane.start(ControlPlaneSettings.forTests(dir.resolve("cp"), Optional.of(dir.resolve("policies.yaml")))
                        .withRegistrationFile(Optional.of(writeRegistrations(dir)))
                        .withDevMode(true), // the nodes here run on the simulated TEE
                Clock.systemUTC(), EvidenceVerifierSet.defaults(), meshFile);
    }

    public String target() {
        return "127.0.0.1:" + cp.grpcPort();
    }

    public NodeAgent agent(String nodeId, String measurement) {
        try {
            return new NodeAgent(new NodeAgent.Settings(nodeId, target(), Pem.parseCertificates(
                    Files.readString(cp.caBundleFile())), dir.resolve("nodes").resolve(nodeId), Optional.empty(),
                    Optional.empty()), SimulatedTee.withMeasurementHex(measurement), Clock.systemUTC());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public AgentCredentials attest(String nodeId, String measurement) throws Exception {
        return agent(nodeId, measurement).attestOnce();
    }

    /**
     * Opens an ADS stream as {@code agent}'s node presenting {@code cluster} and {@code metadata}, asks for
     * secrets, waits for the first response and closes. The control plane records the node's identity.
     */
    public DiscoveryResponse presentOverAds(NodeAgent agent, AgentCredentials creds, String cluster,
            Map<String, String> metadata) throws Exception {
        ManagedChannel ch = ControlPlaneChannels.open(target(), creds.trustBundle(), agent.clientIdentity());
        try {
            LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
            StreamObserver<DiscoveryRequest> req = AggregatedDiscoveryServiceGrpc.newStub(ch)
                    .streamAggregatedResources(new StreamObserver<>() {
                        @Override
                        public void onNext(DiscoveryResponse v) {
                            events.add(v);
                        }

                        @Override
                        public void onError(Throwable t) {
                            events.add(t);
                        }

                        @Override
                        public void onCompleted() {}
                    });
            Struct.Builder md = Struct.newBuilder();
            metadata.forEach((k, v) -> md.putFields(k, Value.newBuilder().setStringValue(v).build()));
            req.onNext(DiscoveryRequest.newBuilder()
                    .setNode(Node.newBuilder().setId(creds.claims().getNodeId()).setCluster(cluster).setMetadata(md))
                    .setTypeUrl("type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret")
                    .addResourceNames("default").build());
            Object first = events.poll(10, TimeUnit.SECONDS);
            req.onCompleted();
            if (first instanceof DiscoveryResponse r) {
                return r;
            }
            throw new AssertionError("no ADS response: " + first);
        } finally {
            ch.shutdownNow();
        }
    }

    @Override
    public void close() {
        if (cp != null) {
            cp.close();
        }
        try (var s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static List<String> names(List<? extends com.google.protobuf.Message> resources) {
        return resources.stream().map(m -> (String) m.getField(m.getDescriptorForType().findFieldByName(
                m.getDescriptorForType().findFieldByName("name") != null ? "name" : "cluster_name"))).toList();
    }
}
