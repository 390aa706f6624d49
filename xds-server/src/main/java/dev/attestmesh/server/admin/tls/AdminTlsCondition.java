package dev.attestmesh.server.admin.tls;

import io.micronaut.context.condition.Condition;
import io.micronaut.context.condition.ConditionContext;
import io.micronaut.core.value.PropertyResolver;

/**
 * True when {@code attestmesh.admin.tls} is on. Parsed like {@link AdminListenerSettings} does (which refuses
 * anything else at start), so a value cannot turn TLS on for one and leave it off for the other. YAML 1.1
 * reads a bare {@code on} as the boolean {@code true}, so {@code true} counts as on.
 */
public final class AdminTlsCondition implements Condition {
    @Override
    public boolean matches(ConditionContext context) {
        if (!(context.getBeanContext() instanceof PropertyResolver properties)) {
            return false;
        }
        String value = properties.getProperty("attestmesh.admin.tls", String.class).orElse("off");
        try {
            return AdminListenerSettings.parseTls(value);
        } catch (IllegalArgumentException e) {
            return false; // AdminListenerSettings stops the start with the message
        }
    }
}
