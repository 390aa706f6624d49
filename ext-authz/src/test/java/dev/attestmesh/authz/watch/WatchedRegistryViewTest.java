package dev.attestmesh.authz.watch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.Claims;
import dev.attestmesh.api.v1.MeshPolicyRequirement;
import dev.attestmesh.api.v1.NodeRecord;
import dev.attestmesh.api.v1.PolicyRef;
import dev.attestmesh.api.v1.RegistryEvent;
import dev.attestmesh.api.v1.WatchRegistryRequest;
import dev.attestmesh.authz.RegistryChange;
import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.registry.NodeState;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The replica's view against a scripted control plane (in-process gRPC, no TLS). */
class WatchedRegistryViewTest {
    final LinkedBlockingQueue<StreamObserver<RegistryEvent>> streams = new LinkedBlockingQueue<>();
    final AtomicInteger subscriptions = new AtomicInteger();
    final MeshCa ca = MeshCa.generate("mesh.example", Clock.systemUTC());
    Server server;
    ManagedChannel channel;
    WatchedRegistryView view;

    @BeforeEach
    void start() throws Exception {
        String name = InProcessServerBuilder.generateName();
        server = InProcessServerBuilder.forName(name).addService(new AttestationServiceGrpc.AttestationServiceImplBase() {
            @Override
            public void watchRegistry(WatchRegistryRequest request, StreamObserver<RegistryEvent> out) {
                subscriptions.incrementAndGet();
                streams.add(out);
            }
        }).build().start();
        channel = InProcessChannelBuilder.forName(name).build();
        view = WatchedRegistryView.start(channel, new WatchedRegistryView.Settings("test", Duration.ofMillis(600),
                Duration.ofMillis(20), Duration.ofMillis(100)));
    }

    @AfterEach
    void stop() {
        view.close();
        channel.shutdownNow();
        server.shutdownNow();
    }

    NodeRecord node(String id, String state) {
        return NodeRecord.newBuilder().setNodeId(id).setSpiffeId("spiffe://mesh.example/node/" + id).setState(state)
                .setMeasurement("ab").setClaims(Claims.newBuilder().setTee("sim"))
                .addSatisfiedPolicies(PolicyRef.newBuilder().setId("default").setVersion(3))
                .addAcceptedCertificateSha256(ByteString.copyFrom(new byte[32]))
                .setEvidenceExpiresAt(Timestamp.newBuilder().setSeconds(Instant.now().getEpochSecond() + 3600)).build();
    }

    RegistryEvent snapshot(long revision, NodeRecord... nodes) throws Exception {
        RegistryEvent.Builder b = RegistryEvent.newBuilder().setFull(true).setRevision(revision)
                .addPolicyVersions(PolicyRef.newBuilder().setId("default").setVersion(3));
        for (NodeRecord n : nodes) {
            b.addNodes(n);
        }
        for (var c : ca.trustBundle()) {
            b.addTrustBundle(ByteString.copyFrom(c.getEncoded()));
        }
        return b.build();
    }

    static MeshPolicyRequirement requirement(String node, int port, String... policyIds) {
        return MeshPolicyRequirement.newBuilder().setDestinationPrincipal("spiffe://mesh.example/node/" + node)
                .setPort(port).addAllPolicyIds(List.of(policyIds)).build();
    }

    static String principal(String node) {
        return "spiffe://mesh.example/node/" + node;
    }

    static void eventually(BooleanSupplier cond, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(5);
        }
    }

    @Test
    void deniesBeforeTheFirstSnapshotThenServesTheStreamedStateAndTrustBundle() throws Exception {
        assertTrue(view.unavailableReason().orElseThrow().startsWith("registry view has no snapshot"));
        StreamObserver<RegistryEvent> s = streams.poll(5, TimeUnit.SECONDS);
        s.onNext(snapshot(1, node("a", "ATTESTED")));
        eventually(() -> view.unavailableReason().isEmpty(), "first snapshot applied");
        assertEquals(NodeState.ATTESTED, view.instancesOf("spiffe://mesh.example/node/a").getFirst().state());
        assertEquals(3, view.currentPolicyVersion("default").getAsLong());
        assertEquals(ca.trustBundle(), view.trustBundle());

        s.onNext(RegistryEvent.newBuilder().setRevision(2).addNodes(node("a", "REVOKED")).addNodes(node("b", "ATTESTED")).build());
        eventually(() -> view.revision().getAsLong() == 2, "delta applied");
        assertEquals(NodeState.REVOKED, view.byNodeId("a").orElseThrow().state());
        assertTrue(view.byNodeId("b").isPresent());
        s.onNext(RegistryEvent.newBuilder().setRevision(3).addRemovedNodeIds("b").build());
        eventually(() -> view.byNodeId("b").isEmpty(), "removal applied");
    }

    @Test
    void undecodableUpdateRemovesTheNodeInsteadOfKeepingItsOldRecord() throws Exception {
        StreamObserver<RegistryEvent> s = streams.poll(5, TimeUnit.SECONDS);
        s.onNext(snapshot(1, node("a", "ATTESTED")));
        eventually(() -> view.byNodeId("a").isPresent(), "snapshot");
        s.onNext(RegistryEvent.newBuilder().setRevision(2).addNodes(node("a", "HALF_ATTESTED")).build());
        eventually(() -> view.byNodeId("a").isEmpty(), "bad record dropped");
    }

    @Test
    void aDeltaBeforeAnySnapshotIsAProtocolErrorAndTheViewResubscribes() throws Exception {
        StreamObserver<RegistryEvent> s = streams.poll(5, TimeUnit.SECONDS);
        s.onNext(RegistryEvent.newBuilder().setRevision(5).addNodes(node("a", "ATTESTED")).build());
        StreamObserver<RegistryEvent> again = streams.poll(5, TimeUnit.SECONDS);
        assertTrue(again != null, "resubscribed after the protocol error");
        assertTrue(view.byNodeId("a").isEmpty());
        again.onNext(snapshot(6, node("a", "ATTESTED")));
        eventually(() -> view.byNodeId("a").isPresent(), "snapshot on the new stream");
    }

    @Test
    void goesStaleWithoutEventsAndRecoversOnResubscription() throws Exception {
        StreamObserver<RegistryEvent> s = streams.poll(5, TimeUnit.SECONDS);
        s.onNext(snapshot(1, node("a", "ATTESTED")));
        eventually(() -> view.unavailableReason().isEmpty(), "snapshot");
        s.onError(io.grpc.Status.UNAVAILABLE.withDescription("control plane gone").asRuntimeException());
        assertTrue(view.unavailableReason().isEmpty(), "still serving its last view right after the loss");
        eventually(() -> view.unavailableReason().map(r -> r.startsWith("registry view is stale: last update")).orElse(false),
                "stale after 600 ms");
        assertTrue(subscriptions.get() >= 2, "kept resubscribing with backoff");
        // The replica keeps cancelling silent streams and resubscribing, so the newest stream seen may
        // already be cancelled when the snapshot is sent: answer on the next one then.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        boolean sent = false;
        while (!sent && System.nanoTime() < deadline) {
            StreamObserver<RegistryEvent> latest = null;
            for (StreamObserver<RegistryEvent> o; (o = streams.poll()) != null; ) {
                latest = o;
            }
            if (latest == null) {
                latest = streams.poll(5, TimeUnit.SECONDS);
            }
            if (latest == null) {
                continue;
            }
            try {
                latest.onNext(snapshot(2, node("a", "ATTESTED")));
                sent = true;
            } catch (io.grpc.StatusRuntimeException cancelled) {
                // that stream was cancelled by the replica; take the next subscription
            }
        }
        assertTrue(sent, "a resubscription accepted the new snapshot");
        eventually(() -> view.unavailableReason().isEmpty(), "current again after a new snapshot");
    }

    @Test
    void meshRequirementsAreSetBySnapshotKeptByDeltasWithoutThemAndReplacedOrClearedWhenSet() throws Exception {
        StreamObserver<RegistryEvent> s = streams.poll(5, TimeUnit.SECONDS);
        s.onNext(snapshot(1, node("orders", "ATTESTED"), node("web", "ATTESTED")).toBuilder()
                .setMeshRequirementsSet(true)
                .addMeshRequirements(requirement("orders", 8443, "default"))
                .addMeshRequirements(requirement("orders", 8444, "default", "strict")).build());
        eventually(() -> view.revision().isPresent(), "snapshot");
        assertEquals(List.of("default"), view.requiredPolicies(principal("orders"), 8443));
        assertEquals(List.of("default", "strict"), view.requiredPolicies(principal("orders"), 8444));
        assertEquals(List.of(), view.requiredPolicies(principal("orders"), 9999), "port without requirement");
        assertEquals(List.of(), view.requiredPolicies(principal("web"), 8443), "principal without requirement");

        // A node delta without the flag leaves the table as it was.
        s.onNext(RegistryEvent.newBuilder().setRevision(2).addNodes(node("web", "REVOKED")).build());
        eventually(() -> view.revision().getAsLong() == 2, "node delta");
        assertEquals(List.of("default", "strict"), view.requiredPolicies(principal("orders"), 8444));

        // A changed table replaces the old one as a whole, without any node change.
        s.onNext(RegistryEvent.newBuilder().setRevision(3).setMeshRequirementsSet(true)
                .addMeshRequirements(requirement("web", 443, "strict")).build());
        eventually(() -> view.revision().getAsLong() == 3, "table delta");
        assertEquals(List.of("strict"), view.requiredPolicies(principal("web"), 443));
        assertEquals(List.of(), view.requiredPolicies(principal("orders"), 8443), "entries not resent are gone");
        assertEquals(List.of(), view.requiredPolicies(principal("orders"), 8444));

        // Set with no entries: nothing is required any more (not "unchanged").
        s.onNext(RegistryEvent.newBuilder().setRevision(4).setMeshRequirementsSet(true).build());
        eventually(() -> view.revision().getAsLong() == 4, "cleared table");
        assertEquals(List.of(), view.requiredPolicies(principal("web"), 443));
    }

    @Test
    void aTableChangeRunsTheListenersSoCachedDecisionsAreDropped() throws Exception {
        AtomicInteger changes = new AtomicInteger();
        view.addChangeListener(changes::incrementAndGet);
        StreamObserver<RegistryEvent> s = streams.poll(5, TimeUnit.SECONDS);
        s.onNext(snapshot(1, node("orders", "ATTESTED")).toBuilder().setMeshRequirementsSet(true).build());
        eventually(() -> changes.get() >= 1, "snapshot notified");
        assertEquals(List.of(), view.requiredPolicies(principal("orders"), 8443));
        int before = changes.get();
        s.onNext(RegistryEvent.newBuilder().setRevision(2).setHeartbeat(true).setMeshRequirementsSet(true)
                .addMeshRequirements(requirement("orders", 8443, "strict")).build());
        eventually(() -> changes.get() > before, "table change notified, even on an event marked heartbeat");
        assertEquals(List.of("strict"), view.requiredPolicies(principal("orders"), 8443));
    }

    @Test
    void targetedListenersAreToldADeltasNodesWithTheirPrincipalsBeforeAndAfter() throws Exception {
        LinkedBlockingQueue<RegistryChange> told = new LinkedBlockingQueue<>();
        view.addTargetedChangeListener(told::add);
        StreamObserver<RegistryEvent> s = streams.poll(5, TimeUnit.SECONDS);
        s.onNext(snapshot(1, node("orders", "ATTESTED"), node("cart", "ATTESTED")));
        assertSame(RegistryChange.EVERYTHING, told.poll(5, TimeUnit.SECONDS), "a snapshot may change anything");

        // orders moves to another SPIFFE ID, cart is removed, web is new
        NodeRecord moved = node("orders", "ATTESTED").toBuilder().setSpiffeId("spiffe://mesh.example/ns/shop/sa/orders")
                .build();
        s.onNext(RegistryEvent.newBuilder().setRevision(2).addNodes(moved).addNodes(node("web", "ATTESTED"))
                .addRemovedNodeIds("cart").build());
        RegistryChange delta = told.poll(5, TimeUnit.SECONDS);
        assertEquals(Set.of("orders", "web", "cart"), delta.nodeIds());
        assertEquals(Set.of(principal("orders"), "spiffe://mesh.example/ns/shop/sa/orders", principal("web"),
                principal("cart")), delta.principals(), "the principals each node was and is under");

        s.onNext(RegistryEvent.newBuilder().setRevision(3).setHeartbeat(true).build());
        s.onNext(RegistryEvent.newBuilder().setRevision(4).setMeshRequirementsSet(true)
                .addMeshRequirements(requirement("web", 443, "strict")).build());
        assertSame(RegistryChange.EVERYTHING, told.poll(5, TimeUnit.SECONDS), "a heartbeat tells nothing; a table is "
                + "a change of everything");

        RegistryEvent.Builder big = RegistryEvent.newBuilder().setRevision(5);
        for (int i = 0; i <= RegistryChange.MAX_NAMED; i++) {
            big.addRemovedNodeIds("gone-" + i);
        }
        s.onNext(big.build());
        assertSame(RegistryChange.EVERYTHING, told.poll(5, TimeUnit.SECONDS), "a delta naming too many nodes");
        assertNull(told.poll(100, TimeUnit.MILLISECONDS));
    }

    @Test
    void aSnapshotWithoutTheTableRequiresNothingAndReplacesAnEarlierTable() throws Exception {
        StreamObserver<RegistryEvent> s = streams.poll(5, TimeUnit.SECONDS);
        s.onNext(snapshot(1, node("orders", "ATTESTED")).toBuilder().setMeshRequirementsSet(true)
                .addMeshRequirements(requirement("orders", 8443, "default")).build());
        eventually(() -> view.revision().isPresent(), "snapshot");
        assertEquals(List.of("default"), view.requiredPolicies(principal("orders"), 8443));
        s.onNext(snapshot(2, node("orders", "ATTESTED"))); // as from a control plane that does not stream the table
        eventually(() -> view.revision().getAsLong() == 2, "second snapshot");
        assertEquals(List.of(), view.requiredPolicies(principal("orders"), 8443));
    }

    @Test
    void anInvalidTableIsAProtocolErrorThatKeepsThePreviousTableAndResubscribes() throws Exception {
        StreamObserver<RegistryEvent> s = streams.poll(5, TimeUnit.SECONDS);
        s.onNext(snapshot(1, node("orders", "ATTESTED")).toBuilder().setMeshRequirementsSet(true)
                .addMeshRequirements(requirement("orders", 8443, "default")).build());
        eventually(() -> view.revision().isPresent(), "snapshot");
        s.onNext(RegistryEvent.newBuilder().setRevision(2).setMeshRequirementsSet(true)
                .addMeshRequirements(requirement("orders", 8443, "strict"))
                .addMeshRequirements(requirement("orders", 70000, "strict")).build());
        StreamObserver<RegistryEvent> again = streams.poll(5, TimeUnit.SECONDS);
        assertTrue(again != null, "resubscribed after the invalid table");
        assertEquals(1, view.revision().getAsLong(), "the event was not applied");
        assertEquals(List.of("default"), view.requiredPolicies(principal("orders"), 8443));

        again.onNext(snapshot(3, node("orders", "ATTESTED")).toBuilder().setMeshRequirementsSet(true)
                .addMeshRequirements(requirement("orders", 8443, "strict")).build());
        eventually(() -> view.revision().getAsLong() == 3, "snapshot on the new stream");
        // Entries without the flag would be ambiguous: refused as well.
        again.onNext(RegistryEvent.newBuilder().setRevision(4)
                .addMeshRequirements(requirement("orders", 8443, "default")).build());
        assertTrue(streams.poll(5, TimeUnit.SECONDS) != null, "resubscribed after entries without the flag");
        assertEquals(List.of("strict"), view.requiredPolicies(principal("orders"), 8443));
    }

    // --- Instances by SPIFFE ID and decisions by principal on a standalone replica ---

    static final String PAYMENTS = "spiffe://mesh.example/ns/prod/sa/payments";

    /** A pod attested under {@code spiffeId}, its certificate valid for another hour. */
    NodeRecord instance(String id, String spiffeId, String state) {
        return node(id, state).toBuilder().setSpiffeId(spiffeId).setRegistration("payments")
                .setCertificateExpiresAt(Timestamp.newBuilder().setSeconds(Instant.now().getEpochSecond() + 3600)).build();
    }

    static java.util.Set<String> nodeIds(List<dev.attestmesh.authz.NodeAuthzRecord> records) {
        return records.stream().map(dev.attestmesh.authz.NodeAuthzRecord::nodeId)
                .collect(java.util.stream.Collectors.toSet());
    }

    @Test
    void decodeReadsCertificateExpiryAndRegistration() {
        NodeRecord r = instance("pod-a", PAYMENTS, "ATTESTED").toBuilder()
                .setCertificateExpiresAt(Timestamp.newBuilder().setSeconds(1_900_000_000L).setNanos(5)).build();
        var decoded = WatchedRegistryView.decode(r).orElseThrow();
        assertEquals(Instant.ofEpochSecond(1_900_000_000L, 5), decoded.certificateNotAfter());
        assertEquals("payments", decoded.registration());
        assertEquals(PAYMENTS, decoded.spiffeId());
    }

    @Test
    void instancesOfFollowsDeltasAcrossSpiffeIdChangesAndRemovals() throws Exception {
        StreamObserver<RegistryEvent> s = streams.poll(5, TimeUnit.SECONDS);
        s.onNext(snapshot(1, instance("pod-a", PAYMENTS, "ATTESTED"), instance("pod-b", PAYMENTS, "ATTESTED")));
        eventually(() -> view.revision().isPresent(), "snapshot");
        assertEquals(java.util.Set.of("pod-a", "pod-b"), nodeIds(view.instancesOf(PAYMENTS)));

        String orders = "spiffe://mesh.example/ns/prod/sa/orders";
        s.onNext(RegistryEvent.newBuilder().setRevision(2).addNodes(instance("pod-b", orders, "ATTESTED"))
                .addNodes(instance("pod-c", PAYMENTS, "REVOKED")).build());
        eventually(() -> view.revision().getAsLong() == 2, "delta moving pod-b");
        assertEquals(java.util.Set.of("pod-a", "pod-c"), nodeIds(view.instancesOf(PAYMENTS)),
                "pod-b left its old SPIFFE ID; revoked pod-c is an instance too");
        assertEquals(java.util.Set.of("pod-b"), nodeIds(view.instancesOf(orders)));

        s.onNext(RegistryEvent.newBuilder().setRevision(3).addRemovedNodeIds("pod-a").addRemovedNodeIds("pod-b").build());
        eventually(() -> view.revision().getAsLong() == 3, "removals");
        assertEquals(java.util.Set.of("pod-c"), nodeIds(view.instancesOf(PAYMENTS)));
        assertEquals(List.of(), view.instancesOf(orders), "no index entry is left for a SPIFFE ID without instances");
    }

    @Test
    void aRefusedDeltaChangesNoNode() throws Exception {
        StreamObserver<RegistryEvent> s = streams.poll(5, TimeUnit.SECONDS);
        s.onNext(snapshot(5, instance("pod-a", PAYMENTS, "ATTESTED")));
        eventually(() -> view.revision().isPresent(), "snapshot");
        // Deltas are applied in place: one the view refuses must not have changed a node before it was refused
        s.onNext(RegistryEvent.newBuilder().setRevision(6).addNodes(instance("pod-a", PAYMENTS, "REVOKED"))
                .addNodes(instance("pod-new", PAYMENTS, "ATTESTED")).addRemovedNodeIds("pod-a")
                .setMeshRequirementsSet(true).addMeshRequirements(requirement("orders", 70000, "strict")).build());
        StreamObserver<RegistryEvent> again = streams.poll(5, TimeUnit.SECONDS);
        assertTrue(again != null, "resubscribed after the invalid table");
        assertEquals("ATTESTED", view.byNodeId("pod-a").orElseThrow().state().name());
        assertEquals(java.util.Set.of("pod-a"), nodeIds(view.instancesOf(PAYMENTS)));
        assertTrue(view.byNodeId("pod-new").isEmpty());
        again.onNext(snapshot(7, instance("pod-a", PAYMENTS, "ATTESTED")));
        eventually(() -> view.revision().getAsLong() == 7, "snapshot on the new stream");
        again.onNext(RegistryEvent.newBuilder().setRevision(6).addRemovedNodeIds("pod-a").build()); // went back
        assertTrue(streams.poll(5, TimeUnit.SECONDS) != null, "resubscribed after the revision went back");
        assertTrue(view.byNodeId("pod-a").isPresent(), "the refused removal was not applied");
    }

    @Test
    void aReaderNeverSeesAPrincipalWithoutAnInstanceThatStaysUnderIt() throws Exception {
        // pod-a is revoked, so PAYMENTS is denied; while deltas rewrite pod-a's record (still revoked, still under
        // PAYMENTS), a reader that saw PAYMENTS without pod-a would allow it: the list is replaced in one step
        StreamObserver<RegistryEvent> s = streams.poll(5, TimeUnit.SECONDS);
        s.onNext(snapshot(1, instance("pod-a", PAYMENTS, "REVOKED"), instance("pod-b", PAYMENTS, "ATTESTED")));
        eventually(() -> view.revision().isPresent(), "snapshot");
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        AtomicInteger reads = new AtomicInteger();
        AtomicInteger withoutPodA = new AtomicInteger();
        Thread reader = Thread.ofPlatform().start(() -> {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!stop.get() && System.nanoTime() < deadline) {
                if (!nodeIds(view.instancesOf(PAYMENTS)).contains("pod-a")) {
                    withoutPodA.incrementAndGet();
                }
                reads.incrementAndGet();
            }
        });
        int deltas = 2_000;
        for (int i = 0; i < deltas; i++) {
            s.onNext(RegistryEvent.newBuilder().setRevision(2 + i).addNodes(instance("pod-a", PAYMENTS, "REVOKED")
                    .toBuilder().setRevocationReason("incident " + i)).build());
        }
        eventually(() -> view.revision().getAsLong() == 1 + deltas, "every delta applied");
        stop.set(true);
        reader.join(5_000);
        assertTrue(reads.get() > 100, "the reader ran alongside: " + reads.get());
        assertEquals(0, withoutPodA.get(), "reads of the principal without its revoked instance, of " + reads.get());
        assertEquals("incident " + (deltas - 1), view.byNodeId("pod-a").orElseThrow().stateReason());
    }

    @Test
    void standaloneReplicaDeniesPrincipalWhenAnyLiveInstanceIsRevoked() throws Exception {
        // A view with the default staleness: the first decisions load classes for longer than the
        // 600 ms limit of the shared one, whose watchdog would then cancel the scripted stream.
        assertTrue(streams.poll(5, TimeUnit.SECONDS) != null, "the shared view subscribed");
        view.close();
        view = WatchedRegistryView.start(channel, new WatchedRegistryView.Settings("test", Duration.ofSeconds(30),
                Duration.ofMillis(20), Duration.ofMillis(100)));
        // The scripted records are simulated-TEE ones: the decider runs in dev mode to admit them
        dev.attestmesh.authz.AuthzDecider decider = new dev.attestmesh.authz.AuthzDecider(view, Clock.systemUTC(),
                new dev.attestmesh.authz.AuthzDecider.Settings(1_000, true));
        // Listeners run in registration order after the new state is published: once this one ran, the
        // decider's cache invalidation has run too.
        AtomicInteger changes = new AtomicInteger();
        view.addChangeListener(changes::incrementAndGet);
        var check = io.envoyproxy.envoy.service.auth.v3.CheckRequest.newBuilder().setAttributes(
                io.envoyproxy.envoy.service.auth.v3.AttributeContext.newBuilder().setSource(
                        io.envoyproxy.envoy.service.auth.v3.AttributeContext.Peer.newBuilder().setPrincipal(PAYMENTS)))
                .build();
        StreamObserver<RegistryEvent> s = streams.poll(5, TimeUnit.SECONDS);
        s.onNext(snapshot(1, instance("pod-a", PAYMENTS, "ATTESTED"), instance("pod-b", PAYMENTS, "ATTESTED")));
        eventually(() -> changes.get() == 1, "snapshot applied and notified");
        var allowed = decider.decide(check, List.of("default"));
        assertTrue(allowed instanceof dev.attestmesh.authz.Decision.Allow a
                && a.peer() instanceof dev.attestmesh.authz.Decision.Principal p && p.instances() == 2, allowed.toString());

        s.onNext(RegistryEvent.newBuilder().setRevision(2).addNodes(instance("pod-b", PAYMENTS, "REVOKED").toBuilder()
                .setRevocationReason("operator: quarantine")).build());
        eventually(() -> changes.get() == 2, "revocation delta applied and notified");
        assertEquals(new dev.attestmesh.authz.Decision.Deny("instance 'pod-b' of " + PAYMENTS
                + " is REVOKED: operator: quarantine"), decider.decide(check, List.of("default")),
                "the cached allow was dropped by the delta");

        s.onNext(RegistryEvent.newBuilder().setRevision(3).addRemovedNodeIds("pod-b").build());
        eventually(() -> changes.get() == 3, "removal of the revoked pod applied and notified");
        assertTrue(decider.decide(check, List.of("default")) instanceof dev.attestmesh.authz.Decision.Allow,
                "removing the revoked pod restores the principal");
    }
}
