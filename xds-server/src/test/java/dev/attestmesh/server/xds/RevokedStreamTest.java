package dev.attestmesh.server.xds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.agent.AgentCredentials;
import dev.attestmesh.agent.ControlPlaneChannels;
import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.server.ControlPlaneFixture;
import io.envoyproxy.envoy.config.core.v3.Node;
import io.envoyproxy.envoy.service.discovery.v3.AggregatedDiscoveryServiceGrpc;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryRequest;
import io.envoyproxy.envoy.service.discovery.v3.DiscoveryResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A revoked node loses its open xDS stream at once (not at its next request) and its snapshot is
 * removed; a node that stays attested keeps its stream.
 */
class RevokedStreamTest {
    static final String SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret";

    @Test
    void revocationClosesTheNodesStreamAndRemovesItsSnapshot() throws Exception {
        try (ControlPlaneFixture f = ControlPlaneFixture.start(
                ControlPlaneFixture.simPolicy("default", ControlPlaneFixture.GOOD), Map.of())) {
            NodeAgent victim = f.agent("victim", ControlPlaneFixture.GOOD);
            NodeAgent bystander = f.agent("bystander", ControlPlaneFixture.GOOD);
            AgentCredentials vc = victim.attestOnce();
            AgentCredentials bc = bystander.attestOnce();
            ManagedChannel vch = ControlPlaneChannels.open(f.target(), vc.trustBundle(), victim.clientIdentity());
            ManagedChannel bch = ControlPlaneChannels.open(f.target(), bc.trustBundle(), bystander.clientIdentity());
            try {
                LinkedBlockingQueue<Object> vEvents = open(vch, "victim");
                LinkedBlockingQueue<Object> bEvents = open(bch, "bystander");
                assertInstanceOf(DiscoveryResponse.class, vEvents.poll(10, TimeUnit.SECONDS), "victim served first");
                assertInstanceOf(DiscoveryResponse.class, bEvents.poll(10, TimeUnit.SECONDS), "bystander served");
                assertNotNull(f.cp.xdsCache().getSnapshot("victim"));

                long t0 = System.nanoTime();
                assertTrue(f.cp.registry().revoke("victim", "key leaked"));
                Object end = vEvents.poll(5, TimeUnit.SECONDS);
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                StatusRuntimeException sre = assertInstanceOf(StatusRuntimeException.class, end,
                        "the revoked node's open stream must end, got " + end);
                assertEquals(Status.Code.PERMISSION_DENIED, sre.getStatus().getCode());
                assertTrue(sre.getStatus().getDescription().contains("REVOKED"), sre.getStatus().getDescription());
                assertTrue(ms < 2_000, "closed within 2 s of the revocation, took " + ms + " ms");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                while (f.cp.xdsCache().getSnapshot("victim") != null && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                assertNull(f.cp.xdsCache().getSnapshot("victim"), "the revoked node's snapshot is removed");

                assertNull(bEvents.poll(300, TimeUnit.MILLISECONDS), "the bystander's stream stays open");
                assertNotNull(f.cp.xdsCache().getSnapshot("bystander"));
            } finally {
                vch.shutdownNow();
                bch.shutdownNow();
            }
        }
    }

    /** Opens an ADS stream asking for secrets; responses and the stream's end go to the queue. */
    static LinkedBlockingQueue<Object> open(ManagedChannel ch, String nodeId) {
        LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
        StreamObserver<DiscoveryRequest> requests = AggregatedDiscoveryServiceGrpc.newStub(ch)
                .streamAggregatedResources(new StreamObserver<>() {
                    @Override
                    public void onNext(DiscoveryResponse value) {
                        events.add(value);
                    }

                    @Override
                    public void onError(Throwable t) {
                        events.add(t);
                    }

                    @Override
                    public void onCompleted() {
                        events.add("completed");
                    }
                });
        requests.onNext(DiscoveryRequest.newBuilder().setNode(Node.newBuilder().setId(nodeId).setCluster("test"))
                .setTypeUrl(SECRET_TYPE).addAllResourceNames(List.of("default", "ROOTCA")).build());
        return events;
    }
}
