package dev.attestmesh.server.app;

import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.health.ReadinessProbe;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;
import java.time.Clock;
import java.time.Duration;

/** The readiness probe over the control plane's store and CA ({@code attestmesh.health.ready-timeout}, 1s..30s). */
@Factory
public class ReadinessFactory {
    @Singleton
    @Bean(preDestroy = "close")
    ReadinessProbe readinessProbe(ControlPlane controlPlane,
            @Value("${attestmesh.health.ready-timeout:2s}") Duration timeout, Clock clock) {
        return new ReadinessProbe(controlPlane.database()::ping, controlPlane::meshCa,
                () -> controlPlane.servingCertificate().certificate(), clock, timeout);
    }
}
