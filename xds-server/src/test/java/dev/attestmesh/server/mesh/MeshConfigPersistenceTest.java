package dev.attestmesh.server.mesh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.server.testing.TestMesh;
import io.envoyproxy.controlplane.cache.v3.Snapshot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MeshConfigPersistenceTest {
    static final String V1 = """
            services:
              - name: orders
                members: {nodes: [orders-1]}
                ingress: [{port: 8443, appPort: 8080, policies: [default]}]
            """;

    @Test
    void storedConfigSurvivesARestartAndSnapshotsKeepTheirContentVersions() throws Exception {
        try (TestMesh mesh = new TestMesh(Optional.of(V1))) {
            mesh.attest("orders-1", TestMesh.GOOD);
            assertEquals(1, mesh.cp.mesh().current().version());
            Snapshot before = mesh.cp.xdsCache().getSnapshot("orders-1");
            assertEquals(1, mesh.cp.mesh().replace(V1.replace("8080", "8081")).version() - 1);

            mesh.cp.close();
            mesh.start(Optional.empty()); // no mesh file: the stored config stays in force
            assertEquals(2, mesh.cp.mesh().current().version());
            assertEquals(V1.replace("8080", "8081"), mesh.cp.mesh().current().document());
            assertEquals(8081, mesh.cp.mesh().current().config().services().getFirst().ingress().getFirst().appPort());

            mesh.cp.mesh().replace(V1);
            Snapshot after = mesh.cp.xdsCache().getSnapshot("orders-1");
            assertEquals(3, mesh.cp.mesh().current().version());
            assertEquals(before.listeners().version(), after.listeners().version(),
                    "same content gives the same version, across restarts");
            assertEquals(before.clusters().version(), after.clusters().version());
            assertEquals(before.secrets().version(), after.secrets().version());
        }
    }

    @Test
    void invalidMeshFileStopsTheStartNamingTheFileAndEveryProblem() throws Exception {
        try (TestMesh mesh = new TestMesh(Optional.empty())) {
            Path bad = Files.writeString(mesh.dir.resolve("bad-mesh.yaml"), """
                    services:
                      - name: orders
                        members: {nodes: [o]}
                        ingress: [{port: 8443, appPort: 8443, policies: [nope]}]
                    """);
            mesh.cp.close();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> mesh.start(Optional.of(bad)));
            assertTrue(e.getMessage().contains("bad-mesh.yaml"), e.getMessage());
            assertTrue(e.getMessage().contains("services[0].ingress[0].policies[0]: unknown policy ID 'nope'"),
                    e.getMessage());
            assertTrue(e.getMessage().contains("services[0].ingress[0].appPort: 8443"), e.getMessage());
            mesh.cp = null;
        }
    }
}
