package dev.attestmesh.server.seed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.identity.Registration;
import dev.attestmesh.identity.RegistrationDocuments;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.policy.PolicyDocuments;
import dev.attestmesh.server.mesh.AttestedNodeDirectory;
import dev.attestmesh.server.mesh.EnvoyNodeDirectory;
import dev.attestmesh.server.mesh.MeshConfigRegistry;
import dev.attestmesh.server.mesh.MeshConfigStore;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.policy.PolicyRules;
import dev.attestmesh.server.registration.RegistrationRegistry;
import dev.attestmesh.server.store.ChangeNotifier;
import dev.attestmesh.server.store.Database;
import dev.attestmesh.server.store.DatabaseSettings;
import dev.attestmesh.server.store.DocumentSetDiff;
import dev.attestmesh.server.store.InProcessChangeNotifier;
import dev.attestmesh.server.store.PolicyStore;
import dev.attestmesh.server.store.RegistrationStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The files given at start against a real store: seed fills an empty store and then leaves the stored set
 * (changed through the same registry methods the admin API calls) alone, reporting how the file differs;
 * apply replaces it and reports the difference; a broken file stops the start in both modes with nothing
 * written.
 */
class DocumentFilesTest {
    static final String GOOD = "a1".repeat(48);
    static final String OTHER = "b2".repeat(48);

    static String policies(String... idAndMeasurement) {
        StringBuilder b = new StringBuilder("policies:\n");
        for (int i = 0; i < idAndMeasurement.length; i += 2) {
            b.append("""
                      - id: %s
                        tee: [sim]
                        reference:
                          sim:
                            measurement: ["%s"]
                    """.formatted(idAndMeasurement[i], idAndMeasurement[i + 1]));
        }
        return b.toString();
    }

    static String registrations(String id, String policy) {
        return """
                registrations:
                  - id: %s
                    spiffeId: spiffe://attestmesh.local/%s/{nodeId}
                    policies: [%s]
                """.formatted(id, id, policy);
    }

    static String mesh(String service, int appPort, String policy) {
        return """
                services:
                  - name: %s
                    members: {nodes: [%s-1]}
                    ingress: [{port: 8443, appPort: %d, policies: [%s]}]
                """.formatted(service, service, appPort, policy);
    }

    /** A store and the three registries over it, as a control plane builds them. */
    static final class Plane implements AutoCloseable {
        final Database db;
        final PolicyRegistry policies;
        final RegistrationRegistry registrations;
        final MeshConfigRegistry mesh;
        final DocumentFiles files;

        Plane(DatabaseSettings settings, Path dataDir) throws java.io.IOException {
            db = Database.open(settings, Files.createDirectories(dataDir));
            ChangeNotifier changes = new InProcessChangeNotifier();
            Clock clock = Clock.systemUTC();
            policies = new PolicyRegistry(new PolicyStore(db), clock, changes, PolicyRules.DEV);
            registrations = new RegistrationRegistry(new RegistrationStore(db), policies, "attestmesh.local", clock,
                    changes);
            mesh = new MeshConfigRegistry(new MeshConfigStore(db), policies, new EnvoyNodeDirectory(),
                    new AttestedNodeDirectory(), clock);
            files = new DocumentFiles(policies, registrations, mesh);
        }

        Map<String, Long> policyVersions() {
            return policies.all().stream().collect(Collectors.toMap(Policy::id, Policy::version));
        }

        Map<String, Long> registrationVersions() {
            return registrations.all().stream().collect(Collectors.toMap(Registration::id, Registration::version));
        }

        @Override
        public void close() {
            db.close();
        }
    }

    @TempDir
    Path dir;
    Plane plane;

    @AfterEach
    void close() {
        if (plane != null) {
            plane.close();
        }
    }

    Plane open() throws Exception {
        if (plane != null) {
            plane.close();
        }
        plane = new Plane(DatabaseSettings.embedded(), dir.resolve("cp"));
        return plane;
    }

    Path file(String name, String text) throws Exception {
        return Files.writeString(dir.resolve(name), text);
    }

    DocumentFiles.Sources sources(Path p, Path r, Path m, DocumentFileModes modes) {
        return new DocumentFiles.Sources(Optional.of(p), Optional.of(r), Optional.of(m), modes);
    }

    @Test
    void seedFillsTheEmptyStoreThenLeavesApiChangesAloneAndReportsHowTheFileDiffers() throws Exception {
        Path p = file("policies.yaml", policies("default", GOOD, "extra", GOOD));
        Path r = file("registrations.yaml", registrations("nodes", "default"));
        Path m = file("mesh.yaml", mesh("orders", 8080, "default"));

        List<DocumentFiles.Outcome> first = open().files.load(sources(p, r, m, DocumentFileModes.SEED));
        assertEquals(List.of(true, true, true), first.stream().map(DocumentFiles.Outcome::written).toList());
        assertEquals(Map.of("default", 1L, "extra", 1L), plane.policyVersions());
        assertEquals(Map.of("nodes", 1L), plane.registrationVersions());
        assertEquals(1, plane.mesh.current().version());
        assertEquals(List.of("default", "extra"), first.get(0).diff().addedIds());
        assertTrue(first.get(0).message().contains("seeded the empty store: 2 policies"), first.get(0).message());

        // Changes through the admin API's paths: 'default' changed, 'extra' removed, 'api' added; likewise
        // the registrations and the mesh config.
        plane.policies.replace(PolicyDocuments.parse(policies("default", OTHER, "api", GOOD), "admin API"));
        plane.registrations.replace(RegistrationDocuments.parse(registrations("api-nodes", "api"), "admin API",
                "attestmesh.local"));
        plane.mesh.replace(mesh("orders", 9090, "api"));
        Map<String, Long> policiesByApi = plane.policyVersions();
        assertEquals(Map.of("default", 2L, "api", 1L), policiesByApi);

        // A restart with the same files: nothing of them is written.
        Plane again = open();
        List<DocumentFiles.Outcome> second = again.files.load(sources(p, r, m, DocumentFileModes.SEED));
        assertEquals(List.of(false, false, false), second.stream().map(DocumentFiles.Outcome::written).toList());
        assertEquals(policiesByApi, again.policyVersions(), "the admin API's policies stay");
        assertEquals(PolicyDocuments.parse(policies("default", OTHER), "t").getFirst().reference(),
                again.policies.get("default").orElseThrow().reference(), "with the admin API's content");
        assertEquals(Map.of("api-nodes", 1L), again.registrationVersions(), "the admin API's registrations stay");
        assertEquals(2, again.mesh.current().version(), "the admin API's mesh config stays");
        assertEquals(9090, again.mesh.current().config().services().getFirst().ingress().getFirst().appPort());

        // ...and each outcome says what applying the file would change, with versions.
        DocumentSetDiff policyDiff = second.get(0).diff();
        assertEquals(List.of(new DocumentSetDiff.Entry("default", 2, 3)), policyDiff.changed());
        assertEquals(List.of(new DocumentSetDiff.Entry("extra", 0, 1)), policyDiff.added());
        assertEquals(List.of(new DocumentSetDiff.Entry("api", 1, 0)), policyDiff.removed());
        String message = second.get(0).message();
        assertTrue(message.contains("not applied: the store already holds 2 policies"), message);
        assertTrue(message.contains("--apply-policy-file"), message);
        assertTrue(message.contains("added [extra v1], changed [default v2->v3], removed [api v1]"), message);
        assertEquals(List.of("nodes"), second.get(1).diff().addedIds());
        assertEquals(List.of("api-nodes"), second.get(1).diff().removedIds());
        assertEquals(List.of(new DocumentSetDiff.Entry("orders", 2, 3)), second.get(2).diff().changed());
        assertTrue(second.get(2).message().contains("mesh config version 2 (1 services)"), second.get(2).message());

        // A file that matches the store says so.
        Path same = file("same.yaml", policies("default", OTHER, "api", GOOD));
        DocumentFiles.Outcome matching = again.files.load(new DocumentFiles.Sources(Optional.of(same),
                Optional.empty(), Optional.empty(), DocumentFileModes.SEED)).getFirst();
        assertTrue(matching.diff().isEmpty());
        assertTrue(matching.message().endsWith("the file matches the store"), matching.message());
    }

    @Test
    void applyReplacesTheStoredSetsAndReportsAddedChangedAndRemovedWithVersions() throws Exception {
        Path p = file("policies.yaml", policies("default", GOOD, "extra", GOOD));
        Path r = file("registrations.yaml", registrations("nodes", "default"));
        Path m = file("mesh.yaml", mesh("orders", 8080, "default"));
        open().files.load(sources(p, r, m, DocumentFileModes.SEED));
        plane.policies.replace(PolicyDocuments.parse(policies("default", OTHER, "api", GOOD), "admin API"));
        plane.registrations.replace(RegistrationDocuments.parse(registrations("api-nodes", "api"), "admin API",
                "attestmesh.local"));
        plane.mesh.replace(mesh("orders", 9090, "api"));

        Plane again = open();
        List<DocumentFiles.Outcome> applied = again.files.load(sources(p, r, m, DocumentFileModes.APPLY));
        assertEquals(List.of(true, true, true), applied.stream().map(DocumentFiles.Outcome::written).toList());
        assertEquals(Map.of("default", 3L, "extra", 1L), again.policyVersions(), "the file's set, versions moving on");
        assertEquals(Map.of("nodes", 1L), again.registrationVersions());
        assertEquals(3, again.mesh.current().version());
        assertEquals(8080, again.mesh.current().config().services().getFirst().ingress().getFirst().appPort());

        DocumentSetDiff diff = applied.get(0).diff();
        assertEquals(List.of(new DocumentSetDiff.Entry("extra", 0, 1)), diff.added());
        assertEquals(List.of(new DocumentSetDiff.Entry("default", 2, 3)), diff.changed());
        assertEquals(List.of(new DocumentSetDiff.Entry("api", 1, 0)), diff.removed());
        assertTrue(applied.get(0).message().contains("applied (attestmesh.policy-file-mode=apply): 2 policies in "
                + "force; added [extra v1], changed [default v2->v3], removed [api v1]"), applied.get(0).message());
        assertEquals(List.of("nodes"), applied.get(1).diff().addedIds());
        assertEquals(List.of("api-nodes"), applied.get(1).diff().removedIds());
        assertTrue(applied.get(2).message().contains("version 2 -> 3"), applied.get(2).message());
        assertEquals(List.of(new DocumentSetDiff.Entry("orders", 2, 3)), applied.get(2).diff().changed());

        // Applying the same files again changes nothing and says so.
        List<DocumentFiles.Outcome> again2 = open().files.load(sources(p, r, m, DocumentFileModes.APPLY));
        assertTrue(again2.stream().allMatch(o -> o.diff().isEmpty()), again2.toString());
        assertEquals(Map.of("default", 3L, "extra", 1L), plane.policyVersions());
        assertEquals(3, plane.mesh.current().version());
        assertTrue(again2.get(0).message().contains("no change"), again2.get(0).message());
    }

    @Test
    void modesAreChosenPerFile() throws Exception {
        Path p = file("policies.yaml", policies("default", GOOD));
        Path r = file("registrations.yaml", registrations("nodes", "default"));
        Path m = file("mesh.yaml", mesh("orders", 8080, "default"));
        open().files.load(sources(p, r, m, DocumentFileModes.SEED));
        plane.policies.replace(PolicyDocuments.parse(policies("default", OTHER), "admin API"));
        plane.registrations.replace(RegistrationDocuments.parse(registrations("api-nodes", "default"), "admin API",
                "attestmesh.local"));

        List<DocumentFiles.Outcome> out = open().files.load(sources(p, r, m,
                new DocumentFileModes(FileMode.APPLY, FileMode.SEED, FileMode.SEED)));
        assertEquals(List.of(true, false, false), out.stream().map(DocumentFiles.Outcome::written).toList());
        assertEquals(Map.of("default", 3L), plane.policyVersions());
        assertEquals(Map.of("api-nodes", 1L), plane.registrationVersions());
    }

    @Test
    void aBrokenFileStopsTheStartInBothModesListingEveryProblemOfEveryFileAndNothingIsWritten() throws Exception {
        Path p = file("policies.yaml", policies("default", GOOD));
        Path r = file("registrations.yaml", registrations("nodes", "default"));
        Path m = file("mesh.yaml", mesh("orders", 8080, "default"));
        open().files.load(sources(p, r, m, DocumentFileModes.SEED));
        Map<String, Long> policiesBefore = plane.policyVersions();

        Path badPolicies = file("bad-policies.yaml", "policies:\n  - id: Not_An_Id\n    tee: [nope]\n");
        Path badRegistrations = file("bad-registrations.yaml", """
                registrations:
                  - id: r
                    spiffeId: spiffe://elsewhere.example/x
                    policies: [default]
                """);
        Path badMesh = file("bad-mesh.yaml", """
                services:
                  - name: orders
                    members: {nodes: [o]}
                    ingress: [{port: 8443, appPort: 8443, policies: [default]}]
                """);
        for (DocumentFileModes modes : List.of(DocumentFileModes.SEED, DocumentFileModes.APPLY)) {
            Plane again = open();
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> again.files.load(sources(badPolicies, badRegistrations, badMesh, modes)));
            String msg = e.getMessage();
            assertTrue(msg.contains("policy file " + badPolicies + " is invalid:\n  - "), modes + ": " + msg);
            assertTrue(msg.contains("Not_An_Id"), msg);
            assertTrue(msg.contains("registration file " + badRegistrations + " is invalid:\n  - "), msg);
            assertTrue(msg.contains("elsewhere.example"), msg);
            assertTrue(msg.contains("mesh config file " + badMesh + " is invalid:\n  - "), msg);
            assertTrue(msg.contains("services[0].ingress[0].appPort: 8443"), msg);
            assertEquals(policiesBefore, again.policyVersions(), modes + ": nothing written");
            assertEquals(Map.of("nodes", 1L), again.registrationVersions());
            assertEquals(1, again.mesh.current().version());
        }

        // One broken file keeps the valid ones from being applied too: nothing half-applied.
        Path changed = file("changed-policies.yaml", policies("default", OTHER));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> open().files.load(sources(changed, r, badMesh, DocumentFileModes.APPLY)));
        assertFalse(e.getMessage().contains("policy file"), e.getMessage());
        assertEquals(policiesBefore, plane.policyVersions(), "the valid policy file was not applied");
    }

    @Test
    void policyReferencesAreCheckedAgainstThePoliciesInForceAndOnlyStopAFileThatIsWritten() throws Exception {
        Path p = file("policies.yaml", policies("default", GOOD));
        Path r = file("registrations.yaml", registrations("nodes", "default"));
        open().files.load(new DocumentFiles.Sources(Optional.of(p), Optional.of(r), Optional.empty(),
                DocumentFileModes.SEED));
        // The admin API renames the policy and moves the registrations to it.
        plane.policies.replace(PolicyDocuments.parse(policies("default", GOOD, "renamed", GOOD), "admin API"));
        plane.registrations.replace(RegistrationDocuments.parse(registrations("nodes", "renamed"), "admin API",
                "attestmesh.local"));
        plane.policies.replace(PolicyDocuments.parse(policies("renamed", GOOD), "admin API"));

        // Seed: the registration file names a policy that no longer exists, but it is not written: the start goes on.
        List<DocumentFiles.Outcome> seeded = open().files.load(new DocumentFiles.Sources(Optional.empty(),
                Optional.of(r), Optional.empty(), DocumentFileModes.SEED));
        assertFalse(seeded.getFirst().written());
        assertEquals("renamed", plane.registrations.get("nodes").orElseThrow().policies().getFirst());

        // Apply: the same file would be written, so the missing policy stops the start and nothing changes.
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> open().files.load(
                new DocumentFiles.Sources(Optional.empty(), Optional.of(r), Optional.empty(),
                        new DocumentFileModes(FileMode.SEED, FileMode.APPLY, FileMode.SEED))));
        assertTrue(e.getMessage().contains("registration 'nodes': policy 'default' does not exist"), e.getMessage());
        assertEquals("renamed", plane.registrations.get("nodes").orElseThrow().policies().getFirst());

        // Applied together with a policy file that brings 'default' back, it is checked against that file.
        List<DocumentFiles.Outcome> both = open().files.load(new DocumentFiles.Sources(Optional.of(p), Optional.of(r),
                Optional.empty(), new DocumentFileModes(FileMode.APPLY, FileMode.APPLY, FileMode.SEED)));
        assertTrue(both.stream().allMatch(DocumentFiles.Outcome::written));
        assertEquals("default", plane.registrations.get("nodes").orElseThrow().policies().getFirst());
    }

    @Test
    void applyWithoutTheFileAndUnknownModesAreRefused() {
        IllegalArgumentException noFile = assertThrows(IllegalArgumentException.class,
                () -> new DocumentFiles.Sources(Optional.empty(), Optional.empty(), Optional.empty(),
                        new DocumentFileModes(FileMode.SEED, FileMode.SEED, FileMode.APPLY)));
        assertTrue(noFile.getMessage().contains("attestmesh.mesh-file-mode is 'apply' (--apply-mesh-file) but no "
                + "mesh config file is given"), noFile.getMessage());
        assertEquals(FileMode.APPLY, FileMode.parse("attestmesh.policy-file-mode", " Apply "));
        assertEquals(FileMode.SEED, FileMode.parse("attestmesh.policy-file-mode", "seed"));
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> FileMode.parse("attestmesh.policy-file-mode", "replace" + "x".repeat(100)));
        assertTrue(bad.getMessage().startsWith("attestmesh.policy-file-mode must be 'seed' or 'apply', not 'replace"),
                bad.getMessage());
        assertTrue(bad.getMessage().length() < 120, "the echoed value is cut: " + bad.getMessage());
    }

    @Test
    void diffSummaryNamesAtMostTwentyIdsPerKind() {
        Map<String, Long> after = new LinkedHashMap<>();
        for (int i = 0; i < 25; i++) {
            after.put("r" + i, 1L);
        }
        DocumentSetDiff diff = DocumentSetDiff.ofVersions(Map.of("gone", 4L), after);
        assertEquals(25, diff.added().size());
        String summary = diff.summary();
        assertTrue(summary.contains("r19 v1 and 5 more], removed [gone v4]"), summary);
        assertFalse(summary.contains("r20"), summary);
        assertEquals("no differences", DocumentSetDiff.ofVersions(Map.of("a", 2L), Map.of("a", 2L)).summary());
    }
}
