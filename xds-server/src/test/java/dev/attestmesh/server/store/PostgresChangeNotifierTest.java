package dev.attestmesh.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PostgresChangeNotifierTest {
    record Seen(Change change, ChangeNotifier.Origin origin) {}

    @TempDir
    Path dir;
    Database dbA;
    Database dbB;
    PostgresChangeNotifier a;
    PostgresChangeNotifier b;
    final List<Seen> seenByA = new CopyOnWriteArrayList<>();
    final List<Seen> seenByB = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() {
        DatabaseSettings pg = TestPostgres.freshSchema();
        dbA = Database.open(pg, dir);
        dbB = Database.open(pg, dir);
        a = new PostgresChangeNotifier(dbA);
        b = new PostgresChangeNotifier(dbB);
        a.subscribe((c, o) -> seenByA.add(new Seen(c, o)));
        b.subscribe((c, o) -> seenByB.add(new Seen(c, o)));
        a.start();
        b.start();
        // After connecting, each notifier resynchronises its replica: every topic, as from elsewhere.
        awaitTrue(() -> seenByA.contains(new Seen(Change.Topic.NODES, ChangeNotifier.Origin.OTHER_REPLICA))
                && seenByB.contains(new Seen(Change.Topic.NODES, ChangeNotifier.Origin.OTHER_REPLICA)), 5_000);
        seenByA.clear();
        seenByB.clear();
    }

    @AfterEach
    void stop() {
        for (AutoCloseable c : new AutoCloseable[] {a, b, dbA, dbB}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        }
    }

    @Test
    void anotherReplicaHearsAChangeOnceAndThePublisherDoesNotHearItsOwnEcho() throws Exception {
        a.publish(new Change.Node("payments"));
        assertEquals(List.of(new Seen(new Change.Node("payments"), ChangeNotifier.Origin.THIS_REPLICA)), seenByA,
                "the publisher's own subscribers are told at once");
        Seen expected = new Seen(new Change.Node("payments"), ChangeNotifier.Origin.OTHER_REPLICA);
        awaitTrue(() -> seenByB.contains(expected), 2_000);
        b.publish(Change.Topic.POLICIES); // a later change that must reach A after A's own echo would have
        awaitTrue(() -> seenByA.contains(new Seen(Change.Topic.POLICIES, ChangeNotifier.Origin.OTHER_REPLICA)), 2_000);
        assertFalse(seenByA.contains(new Seen(new Change.Node("payments"), ChangeNotifier.Origin.OTHER_REPLICA)),
                "the publisher must not be told its own change again: " + seenByA);
        assertEquals(1, seenByB.stream().filter(expected::equals).count(), "told exactly once: " + seenByB);
    }

    @Test
    void listenerReconnectsAfterItsConnectionIsKilledThenResynchronisesAndHearsNewChanges() throws Exception {
        assertEquals(java.util.Optional.empty(), b.deafFor(), "a connected listener hears every change");
        int pid = b.listenerBackendPid().orElseThrow();
        try (Connection c = dbA.connection();
                PreparedStatement ps = c.prepareStatement("SELECT pg_terminate_backend(?)")) {
            ps.setInt(1, pid);
            ps.execute();
        }
        awaitTrue(() -> b.connects() >= 2, 10_000);
        assertTrue(b.listenerBackendPid().isPresent() && b.listenerBackendPid().get() != pid, "a new connection");
        awaitTrue(() -> seenByB.contains(new Seen(Change.Topic.NODES, ChangeNotifier.Origin.OTHER_REPLICA)), 2_000);
        awaitTrue(() -> b.deafFor().isEmpty(), 2_000); // hearing again once resynchronised
        a.publish(Change.Topic.REVOCATIONS);
        awaitTrue(() -> seenByB.contains(new Seen(Change.Topic.REVOCATIONS, ChangeNotifier.Origin.OTHER_REPLICA)),
                2_000);
    }

    @Test
    void publisherRecoversFromALostSendingConnection() throws Exception {
        a.publish(Change.Topic.MESH);
        awaitTrue(() -> seenByB.contains(new Seen(Change.Topic.MESH, ChangeNotifier.Origin.OTHER_REPLICA)), 2_000);
        // Kill every notifier connection except B's listener: A's sender (and A's listener, which reconnects).
        int keep = b.listenerBackendPid().orElseThrow();
        try (Connection c = dbB.connection(); PreparedStatement ps = c.prepareStatement(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'attestmesh-changes'"
                        + " AND pid <> ?")) {
            ps.setInt(1, keep);
            ps.execute();
        }
        seenByB.clear();
        a.publish(Change.Topic.CA);
        awaitTrue(() -> seenByB.contains(new Seen(Change.Topic.CA, ChangeNotifier.Origin.OTHER_REPLICA)), 2_000);
    }

    static void awaitTrue(BooleanSupplier condition, long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within " + millis + " ms");
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }
}
