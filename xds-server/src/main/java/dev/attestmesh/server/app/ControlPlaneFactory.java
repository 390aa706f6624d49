package dev.attestmesh.server.app;

import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.EvidenceVerifierSet;
import dev.attestmesh.server.watch.RegistryWatchSettings;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;

/**
 * Creates the {@link ControlPlane} as a Micronaut-managed bean from configuration. gRPC is served by
 * gRPC-java's own Netty server inside the bean rather than by micronaut-grpc (see
 * docs/architecture.md).
 */
@Factory
public class ControlPlaneFactory {

    @Context
    @Bean(preDestroy = "close")
    ControlPlane controlPlane(
            @Value("${attestmesh.data-dir}") String dataDir,
            @Value("${attestmesh.grpc-bind}") String grpcBind,
            @Value("${attestmesh.grpc-port}") int grpcPort,
            @Value("${attestmesh.policy-file:}") String policyFile,
            @Value("${attestmesh.trust-domain}") String trustDomain,
            @Value("${attestmesh.ca-key:}") String caKey,
            @Value("${attestmesh.server-names}") String serverNames,
            @Value("${attestmesh.node-key-file}") String nodeKeyFile,
            @Value("${attestmesh.nonce-ttl}") Duration nonceTtl,
            @Value("${attestmesh.authz.replica-identities:}") String replicaIdentities,
            @Value("${attestmesh.authz.watch-heartbeat:5s}") Duration watchHeartbeat) {
        ControlPlaneSettings settings = new ControlPlaneSettings(Path.of(dataDir), grpcBind, grpcPort,
                policyFile.isBlank() ? Optional.empty() : Optional.of(Path.of(policyFile)), trustDomain,
                caKey.isBlank() ? Optional.empty() : Optional.of(caKey),
                Arrays.stream(serverNames.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList(),
                nodeKeyFile, nonceTtl);
        try {
            return ControlPlane.start(settings, Clock.systemUTC(), EvidenceVerifierSet.defaults(),
                    new RegistryWatchSettings(RegistryWatchSettings.parseIdentities(replicaIdentities), watchHeartbeat));
        } catch (IOException e) {
            throw new UncheckedIOException("control plane failed to start: " + e.getMessage(), e);
        }
    }
}
