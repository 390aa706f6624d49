package dev.attestmesh.server.seed;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.identity.Registration;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.server.ControlPlane;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.Micronaut;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole server (Micronaut context, configuration properties, admin API) restarted on the same data: in
 * the default seed mode a restart keeps what the admin API changed in policies, registrations and the mesh
 * config; with the apply properties the files replace it again; a broken file stops the start either way.
 */
class StartFilesRestartTest {
    static final String TOKEN = "start-files-test-admin-token-0123456789";
    static final String GOOD = DocumentFilesTest.GOOD;
    static final String OTHER = DocumentFilesTest.OTHER;

    @TempDir
    Path dir;
    ApplicationContext ctx;

    @AfterEach
    void stop() {
        if (ctx != null) {
            ctx.close();
        }
    }

    ControlPlane start(Map<String, Object> extra) throws Exception {
        if (ctx != null) {
            ctx.close();
            ctx = null;
        }
        Map<String, Object> props = new HashMap<>(Map.of(
                "attestmesh.data-dir", dir.resolve("cp").toString(),
                "attestmesh.grpc-bind", "127.0.0.1",
                "attestmesh.grpc-port", 0,
                "attestmesh.admin-port", 0,
                "attestmesh.ca-key", "start-files-test-key",
                "attestmesh.dev-mode", true,
                "attestmesh.admin.token", TOKEN,
                "attestmesh.policy-file", dir.resolve("policies.yaml").toString(),
                "attestmesh.registration-file", dir.resolve("registrations.yaml").toString(),
                "attestmesh.mesh-file", dir.resolve("mesh.yaml").toString()));
        props.putAll(extra);
        ctx = Micronaut.build(new String[0]).banner(false).properties(props).start();
        return ctx.getBean(ControlPlane.class);
    }

    HttpResponse<String> admin(String method, String path, String yaml) throws Exception {
        String base = "http://127.0.0.1:" + ctx.getBean(EmbeddedServer.class).getPort();
        try (HttpClient http = HttpClient.newHttpClient()) {
            return http.send(HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", "Bearer " + TOKEN)
                    .header("Content-Type", "application/yaml").method(method, HttpRequest.BodyPublishers.ofString(yaml))
                    .build(), HttpResponse.BodyHandlers.ofString());
        }
    }

    void writeFiles() throws Exception {
        Files.writeString(dir.resolve("policies.yaml"), DocumentFilesTest.policies("default", GOOD));
        Files.writeString(dir.resolve("registrations.yaml"), DocumentFilesTest.registrations("nodes", "default"));
        Files.writeString(dir.resolve("mesh.yaml"), DocumentFilesTest.mesh("orders", 8080, "default"));
    }

    /** Through the admin API: a new policy 'api', a registration using it, and the mesh config moved to it. */
    void changeThroughTheAdminApi() throws Exception {
        HttpResponse<String> p = admin("POST", "/api/v1/policies", DocumentFilesTest.policies("api", OTHER));
        assertEquals(200, p.statusCode(), p.body());
        HttpResponse<String> r = admin("POST", "/api/v1/registrations",
                DocumentFilesTest.registrations("api-nodes", "api"));
        assertEquals(200, r.statusCode(), r.body());
        HttpResponse<String> m = admin("PUT", "/api/v1/mesh", DocumentFilesTest.mesh("orders", 9090, "api"));
        assertEquals(200, m.statusCode(), m.body());
    }

    static Map<String, Long> policies(ControlPlane cp) {
        return cp.policies().all().stream().collect(Collectors.toMap(Policy::id, Policy::version));
    }

    static Map<String, Long> registrations(ControlPlane cp) {
        return cp.registrations().all().stream().collect(Collectors.toMap(Registration::id, Registration::version));
    }

    @Test
    void aRestartInSeedModeKeepsTheAdminApiChangesToPoliciesRegistrationsAndMeshConfig() throws Exception {
        writeFiles();
        ControlPlane cp = start(Map.of());
        assertEquals(Map.of("default", 1L), policies(cp), "the empty store was seeded from the file");
        assertEquals(Map.of("nodes", 1L), registrations(cp));
        assertEquals(1, cp.mesh().current().version());
        changeThroughTheAdminApi();
        Map<String, Long> policiesBefore = policies(cp);
        Map<String, Long> registrationsBefore = registrations(cp);
        assertEquals(Map.of("default", 1L, "api", 1L), policiesBefore);

        // Restart with the same files, and again with a changed policy file: neither reverts the API's changes.
        cp = start(Map.of());
        assertEquals(policiesBefore, policies(cp));
        assertEquals(registrationsBefore, registrations(cp));
        assertEquals(2, cp.mesh().current().version());
        assertEquals(9090, cp.mesh().current().config().services().getFirst().ingress().getFirst().appPort());
        Files.writeString(dir.resolve("policies.yaml"), DocumentFilesTest.policies("default", OTHER));
        cp = start(Map.of());
        assertEquals(policiesBefore, policies(cp), "a changed file is not applied in seed mode either");
    }

    @Test
    void withTheApplyPropertiesARestartAppliesTheFilesAgain() throws Exception {
        writeFiles();
        start(Map.of());
        changeThroughTheAdminApi();
        Files.writeString(dir.resolve("policies.yaml"), DocumentFilesTest.policies("default", OTHER));

        ControlPlane cp = start(Map.of("attestmesh.policy-file-mode", "apply",
                "attestmesh.registration-file-mode", "apply", "attestmesh.mesh-file-mode", "APPLY"));
        assertEquals(Map.of("default", 2L), policies(cp), "the file's set: 'default' changed, 'api' removed");
        assertEquals(Map.of("nodes", 1L), registrations(cp));
        assertEquals(3, cp.mesh().current().version(), "the file's mesh config as the next version");
        assertEquals(8080, cp.mesh().current().config().services().getFirst().ingress().getFirst().appPort());
    }

    @Test
    void aBrokenFileStopsTheStartInSeedModeEvenWhenTheStoreIsSeeded() throws Exception {
        writeFiles();
        start(Map.of());
        ctx.close();
        ctx = null;
        Files.writeString(dir.resolve("mesh.yaml"), "services:\n  - name: Orders!\n");
        for (Map<String, Object> mode : java.util.List.<Map<String, Object>>of(Map.of(),
                Map.of("attestmesh.mesh-file-mode", "apply"))) {
            Exception e = assertThrows(Exception.class, () -> start(mode));
            String all = causes(e);
            assertTrue(all.contains("mesh config file " + dir.resolve("mesh.yaml") + " is invalid"), all);
        }
        Exception badMode = assertThrows(Exception.class, () -> start(Map.of("attestmesh.policy-file-mode", "sometimes")));
        assertTrue(causes(badMode).contains("attestmesh.policy-file-mode must be 'seed' or 'apply', not 'sometimes'"),
                causes(badMode));
    }

    static String causes(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            b.append(t.getMessage()).append('\n');
        }
        return b.toString();
    }
}
