package dev.attestmesh.server.app;

import dev.attestmesh.server.ca.RotationSettings;
import io.micronaut.core.value.PropertyResolver;

/**
 * Reads how certificates are renewed and rotated while the control plane runs from configuration
 * ({@code attestmesh.server-cert.*}, {@code attestmesh.ca.intermediate-*},
 * {@code attestmesh.rotation.check-interval}: command-line options, {@code ATTESTMESH_*} environment
 * variables, configuration files). A key not set keeps its default; a value that does not parse or is
 * out of bounds stops the start with a message naming the key.
 */
final class RotationConfig {
    private RotationConfig() {}

    static RotationSettings from(PropertyResolver config) {
        return RotationSettings.parse(
                value(config, RotationSettings.SERVER_CERT_TTL),
                value(config, RotationSettings.SERVER_CERT_RENEW_BEFORE),
                value(config, RotationSettings.INTERMEDIATE_ROTATION),
                value(config, RotationSettings.INTERMEDIATE_OVERLAP),
                value(config, RotationSettings.CHECK_INTERVAL));
    }

    private static String value(PropertyResolver config, String key) {
        return config.getProperty(key, String.class).map(String::strip).orElse("");
    }
}
