package dev.attestmesh.envoy;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy;
import org.testcontainers.images.builder.Transferable;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.MountableFile;

/**
 * Envoy itself accepts every shipped bootstrap and a rendered one: {@code envoy --mode validate} in the
 * {@value #IMAGE} image, with the control-plane SDS file and throwaway certificate files where the
 * bootstrap expects the node agent's. Skipped (not failed) where no Docker engine is reachable.
 */
@Testcontainers(disabledWithoutDocker = true)
class EnvoyValidateModeContainerTest {

    static final String IMAGE = "envoyproxy/envoy:v1.34-latest";
    private static final String TRUST_DOMAIN = BootstrapFilesTest.TRUST_DOMAIN;
    private static final String CERT_DIR = "/var/run/attestmesh";

    static List<String> bootstrapFiles() {
        return BootstrapFilesTest.BOOTSTRAP_FILES;
    }

    @ParameterizedTest
    @MethodSource("bootstrapFiles")
    void envoyAcceptsTheShippedBootstrap(String name) throws Exception {
        String bootstrap = Files.readString(BootstrapFilesTest.BOOTSTRAP_DIR.resolve(name));
        String secrets = Files.readString(BootstrapFilesTest.BOOTSTRAP_DIR.resolve("control-plane-sds.yaml"));
        assertEnvoyAccepts(bootstrap, secrets);
    }

    @Test
    void envoyAcceptsARenderedBootstrap() {
        BootstrapRenderer.RenderedBootstrap rendered = new BootstrapRenderer().render(new BootstrapParameters(
                "orders-0", "orders", TRUST_DOMAIN, "127.0.0.1", 15010, Path.of(CERT_DIR),
                List.of(new BootstrapParameters.Ingress(15006, 8080, List.of("default"))),
                List.of(new BootstrapParameters.Egress(15001, "payments.mesh.internal", 15006, "payments.mesh.internal",
                        List.of("default"))),
                15000));
        assertEnvoyAccepts(rendered.bootstrapYaml(), rendered.controlPlaneSecretsYaml());
    }

    private static void assertEnvoyAccepts(String bootstrap, String controlPlaneSecrets) {
        try (GenericContainer<?> envoy = new GenericContainer<>(DockerImageName.parse(IMAGE))
                .withCopyToContainer(Transferable.of(bootstrap.getBytes(StandardCharsets.UTF_8), 0644), "/bootstrap.yaml")
                .withCopyToContainer(Transferable.of(controlPlaneSecrets.getBytes(StandardCharsets.UTF_8), 0644),
                        CERT_DIR + "/control-plane-sds.yaml")
                .withCopyToContainer(MountableFile.forClasspathResource("envoy-validate/cert-chain.pem", 0644),
                        CERT_DIR + "/cert-chain.pem")
                .withCopyToContainer(MountableFile.forClasspathResource("envoy-validate/key.pem", 0644),
                        CERT_DIR + "/key.pem")
                .withCopyToContainer(MountableFile.forClasspathResource("envoy-validate/ca-bundle.pem", 0644),
                        CERT_DIR + "/ca-bundle.pem")
                .withCommand("envoy", "--mode", "validate", "-c", "/bootstrap.yaml")
                // start() fails unless the process exits with status 0 within the timeout
                .withStartupCheckStrategy(new OneShotStartupCheckStrategy().withTimeout(Duration.ofMinutes(3)))) {
            envoy.start();
            String logs = envoy.getLogs();
            assertTrue(logs.contains("configuration '/bootstrap.yaml' OK"), logs);
        }
    }
}
