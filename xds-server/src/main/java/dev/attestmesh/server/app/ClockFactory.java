package dev.attestmesh.server.app;

import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Secondary;
import jakarta.inject.Singleton;
import java.time.Clock;

/**
 * The control plane's clock: the system UTC clock, unless the context was given another {@link Clock} (tests
 * register a settable one to let days of certificate lifetime pass in milliseconds).
 */
@Factory
public class ClockFactory {
    @Singleton
    @Secondary
    Clock systemClock() {
        return Clock.systemUTC();
    }
}
