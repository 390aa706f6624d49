package dev.attestmesh.server.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.policy.PolicyRules;
import dev.attestmesh.server.store.Change;
import dev.attestmesh.server.store.ChangeNotifier;
import dev.attestmesh.server.store.Database;
import dev.attestmesh.server.store.DatabaseSettings;
import dev.attestmesh.server.store.InProcessChangeNotifier;
import dev.attestmesh.server.store.PolicyStore;
import dev.attestmesh.server.testing.TestMesh;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two mesh config registries over one store, as two replicas hold them: version races are settled by
 * the store (compare-and-set on the version read), and a registry told of another's change (or
 * resynchronising) adopts the stored config and fires its listeners. Runs on H2; the PostgreSQL case with
 * real replicas is {@code ReplicasAgreeTest}.
 */
class MeshConfigReplicasTest {
    static final String DOC_1 = """
            services:
              - name: orders
                members: {nodes: [orders-1]}
                ingress: [{port: 8443, appPort: 8080, policies: [default]}]
            """;
    static final String DOC_2 = DOC_1.replace("8080", "8081");

    @TempDir
    Path dir;
    Database db;
    PolicyRegistry policies;

    @BeforeEach
    void store() throws Exception {
        db = Database.open(DatabaseSettings.embedded(), dir);
        policies = new PolicyRegistry(new PolicyStore(db), Clock.systemUTC(), new InProcessChangeNotifier(),
                PolicyRules.DEV);
        policies.seed(PolicyDocuments.parse(TestMesh.POLICIES, "test"));
    }

    @AfterEach
    void close() {
        db.close();
    }

    MeshConfigRegistry registry(ChangeNotifier changes) {
        return new MeshConfigRegistry(new MeshConfigStore(db), policies, new EnvoyNodeDirectory(),
                new AttestedNodeDirectory(), Clock.systemUTC(), changes);
    }

    @Test
    void aReplicaThatBuiltOnAnOlderVersionAdoptsTheNewerOneThenStoresTheNextVersion() throws Exception {
        MeshConfigRegistry x = registry(new InProcessChangeNotifier());
        MeshConfigRegistry y = registry(new InProcessChangeNotifier()); // hears nothing of x
        AtomicInteger yChanges = new AtomicInteger();
        y.addChangeListener(yChanges::incrementAndGet);

        assertEquals(1, x.replace(DOC_1).version());
        assertEquals(0, y.current().version(), "y has not heard of x's change");
        MeshConfigRegistry.VersionedMeshConfig v2 = y.replace(DOC_2);
        assertEquals(2, v2.version(), "y's write lost the race for version 1 and took version 2");
        assertEquals(2, yChanges.get(), "y adopted x's version 1, then its own version 2");
        MeshConfigStore.StoredMeshConfig latest = new MeshConfigStore(db).latest().orElseThrow();
        assertEquals(2, latest.version());
        assertEquals(DOC_2, latest.document());

        // A registry already holding the document in force stores nothing when asked to replace it with it.
        MeshConfigRegistry z = registry(new InProcessChangeNotifier());
        assertEquals(2, z.replace(DOC_2).version());
        assertEquals(2, new MeshConfigStore(db).latest().orElseThrow().version());
    }

    @Test
    void theStoreWritesOnlyOnTheVersionTheWriterRead() {
        MeshConfigStore store = new MeshConfigStore(db);
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        assertTrue(store.appendAfter(0, new MeshConfigStore.StoredMeshConfig(1, DOC_1, "a", now)).isEmpty());
        MeshConfigStore.StoredMeshConfig newer = store.appendAfter(0,
                new MeshConfigStore.StoredMeshConfig(1, DOC_2, "b", now)).orElseThrow();
        assertEquals(1, newer.version());
        assertEquals(DOC_1, newer.document(), "the stale write stored nothing");
        assertThrows(IllegalArgumentException.class,
                () -> store.appendAfter(1, new MeshConfigStore.StoredMeshConfig(3, DOC_2, "b", now)));
    }

    @Test
    void aReplicaToldOfAnotherReplicasChangeAdoptsTheStoredConfigAndFiresItsListeners() throws Exception {
        LinkedNotifiers link = new LinkedNotifiers();
        MeshConfigRegistry x = registry(link.left);
        MeshConfigRegistry y = registry(link.right);
        AtomicInteger yChanges = new AtomicInteger();
        y.addChangeListener(yChanges::incrementAndGet);

        MeshConfigRegistry.VersionedMeshConfig v1 = x.replace(DOC_1);
        assertEquals(v1.version(), y.current().version());
        assertEquals(v1.sha256(), y.current().sha256());
        assertEquals(List.of("default"), y.current().config().services().getFirst().ingress().getFirst().policies());
        assertEquals(1, yChanges.get(), "y rebuilt what depends on the mesh config once");

        // A repeated notification (a resync after a reconnect) changes nothing.
        link.right.deliver(Change.Topic.MESH, ChangeNotifier.Origin.OTHER_REPLICA);
        assertEquals(1, yChanges.get());
        // y's own changes reach x the same way.
        y.replace(DOC_2);
        assertEquals(2, x.current().version());
        assertEquals(DOC_2, x.current().document());
    }

    @Test
    void aReplicaThatMissedANotificationCatchesUpOnResync() throws Exception {
        MeshConfigRegistry x = registry(new InProcessChangeNotifier());
        LinkedNotifiers link = new LinkedNotifiers();
        MeshConfigRegistry y = registry(link.right);
        x.replace(DOC_1); // y is not told
        assertEquals(0, y.current().version());
        link.right.deliver(Change.Topic.MESH, ChangeNotifier.Origin.OTHER_REPLICA); // as after a reconnect
        assertEquals(1, y.current().version());
        assertEquals(DOC_1, y.current().document());
    }

    /** Two notifiers joined as two replicas' would be: a publish on one reaches the other as another replica's. */
    static final class LinkedNotifiers {
        final End left = new End();
        final End right = new End();

        LinkedNotifiers() {
            left.peer = right;
            right.peer = left;
        }

        static final class End implements ChangeNotifier {
            final List<Listener> listeners = new CopyOnWriteArrayList<>();
            End peer;

            void deliver(Change change, Origin origin) {
                listeners.forEach(l -> l.onChange(change, origin));
            }

            @Override
            public void publish(Change change) {
                deliver(change, Origin.THIS_REPLICA);
                peer.deliver(change, Origin.OTHER_REPLICA);
            }

            @Override
            public void subscribe(Listener listener) {
                listeners.add(listener);
            }

            @Override
            public void start() {}

            @Override
            public void close() {}
        }
    }
}
