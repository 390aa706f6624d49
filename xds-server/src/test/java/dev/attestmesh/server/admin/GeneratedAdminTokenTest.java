package dev.attestmesh.server.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.server.ControlPlaneFixture;
import io.micronaut.runtime.server.EmbeddedServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GeneratedAdminTokenTest {
    @Test
    void withoutAConfiguredTokenTheFirstAdminTokenIsGeneratedOwnerOnlyAndWorks() throws Exception {
        try (ControlPlaneFixture f = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default",
                ControlPlaneFixture.GOOD), Map.of())) {
            Path file = f.dir.resolve("cp").resolve("admin-token");
            assertTrue(Files.exists(file), "generated into the data directory");
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
            String token = Files.readString(file).strip();
            String url = "http://127.0.0.1:" + f.ctx.getBean(EmbeddedServer.class).getPort() + "/api/v1/nodes";
            try (HttpClient c = HttpClient.newHttpClient()) {
                assertEquals(401, c.send(HttpRequest.newBuilder(URI.create(url)).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode());
                assertEquals(200, c.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization",
                        "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString()).statusCode());
            }
        }
    }
}
