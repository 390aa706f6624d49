package dev.attestmesh.server.seed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.server.store.DatabaseSettings;
import dev.attestmesh.server.store.DocumentSetDiff;
import dev.attestmesh.server.store.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two replicas starting together on an empty PostgreSQL schema, each with its own files, seed the store
 * exactly once per kind: one replica's files are written, the other finds them and writes nothing, and both
 * then show the same documents at version 1.
 */
class SeedOnPostgresTest {
    static final int ROUNDS = 3;

    @TempDir
    Path dir;

    @Test
    void replicasStartingTogetherOnAnEmptySchemaSeedEachKindOnce() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < ROUNDS; round++) {
                DatabaseSettings pg = TestPostgres.freshSchema();
                DocumentFiles.Sources a = files("a" + round, DocumentFilesTest.GOOD, 8080);
                DocumentFiles.Sources b = files("b" + round, DocumentFilesTest.OTHER, 9090);
                // Both open (and migrate) the schema first; the race is the seeding itself.
                try (DocumentFilesTest.Plane pa = new DocumentFilesTest.Plane(pg, dir.resolve("pa" + round));
                        DocumentFilesTest.Plane pb = new DocumentFilesTest.Plane(pg, dir.resolve("pb" + round))) {
                    CyclicBarrier together = new CyclicBarrier(2);
                    Future<List<DocumentFiles.Outcome>> fa = pool.submit(() -> {
                        together.await(30, TimeUnit.SECONDS);
                        return pa.files.load(a);
                    });
                    Future<List<DocumentFiles.Outcome>> fb = pool.submit(() -> {
                        together.await(30, TimeUnit.SECONDS);
                        return pb.files.load(b);
                    });
                    List<DocumentFiles.Outcome> oa = fa.get(60, TimeUnit.SECONDS);
                    List<DocumentFiles.Outcome> ob = fb.get(60, TimeUnit.SECONDS);
                    for (int kind = 0; kind < 3; kind++) {
                        assertTrue(oa.get(kind).written() ^ ob.get(kind).written(),
                                "round " + round + ": exactly one replica wrote " + oa.get(kind).kind() + ": "
                                        + oa.get(kind).message() + " / " + ob.get(kind).message());
                        DocumentFiles.Outcome loser = oa.get(kind).written() ? ob.get(kind) : oa.get(kind);
                        assertTrue(loser.message().contains("not applied"), loser.message());
                    }
                    DocumentFiles.Outcome policyLoser = oa.get(0).written() ? ob.get(0) : oa.get(0);
                    assertEquals(List.of(new DocumentSetDiff.Entry("default", 1, 2)), policyLoser.diff().changed(),
                            "the loser's file differs from the winner's in 'default'");

                    assertEquals(Map.of("default", 1L), pa.policyVersions());
                    assertEquals(pa.policies.get("default"), pb.policies.get("default"),
                            "both replicas show the winner's policy");
                    assertEquals(1, pa.registrations.all().size());
                    assertEquals(pa.registrationVersions(), pb.registrationVersions());
                    assertEquals(1, pa.mesh.current().version());
                    assertEquals(pa.mesh.current().document(), pb.mesh.current().document());
                    int rows = pa.db.inTransaction(c -> {
                        try (Statement st = c.createStatement();
                                ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM mesh_config")) {
                            rs.next();
                            return rs.getInt(1);
                        }
                    });
                    assertEquals(1, rows, "one mesh config row");
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private DocumentFiles.Sources files(String name, String measurement, int appPort) throws Exception {
        Path d = Files.createDirectories(dir.resolve(name));
        return new DocumentFiles.Sources(
                Optional.of(Files.writeString(d.resolve("policies.yaml"),
                        DocumentFilesTest.policies("default", measurement))),
                Optional.of(Files.writeString(d.resolve("registrations.yaml"),
                        DocumentFilesTest.registrations("nodes-" + name.charAt(0), "default"))),
                Optional.of(Files.writeString(d.resolve("mesh.yaml"), DocumentFilesTest.mesh("orders", appPort,
                        "default"))),
                DocumentFileModes.SEED);
    }
}
