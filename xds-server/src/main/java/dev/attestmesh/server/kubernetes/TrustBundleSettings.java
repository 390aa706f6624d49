package dev.attestmesh.server.kubernetes;

import java.time.Duration;
import java.util.regex.Pattern;

/**
 * Trust bundle publishing into workload namespaces ({@code attestmesh.kubernetes.trust-bundle.*}).
 *
 * @param namespaceSelector a Kubernetes label selector choosing the namespaces that get the bundle
 *     ({@code namespace-selector}, default {@code attestmesh.dev/trust-bundle=enabled})
 * @param configMap the ConfigMap's name ({@code config-map}, default {@code attestmesh-ca-bundle}); the bundle is
 *     under the key {@value #KEY}
 * @param resync how often every selected namespace is checked again even without an event ({@code resync},
 *     10s..1h, default 5m)
 */
public record TrustBundleSettings(String namespaceSelector, String configMap, Duration resync) {
    /** The ConfigMap key holding the PEM bundle. */
    public static final String KEY = "ca-bundle.pem";
    public static final String DEFAULT_SELECTOR = "attestmesh.dev/trust-bundle=enabled";
    public static final String DEFAULT_CONFIG_MAP = "attestmesh-ca-bundle";
    /** DNS-1123 subdomain, as Kubernetes requires of ConfigMap names. */
    private static final Pattern NAME = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
    /** Label selector text: keys, values, operators and set syntax; no control characters. */
    private static final Pattern SELECTOR = Pattern.compile("[A-Za-z0-9./_\\-=!,() ]+");

    public TrustBundleSettings {
        namespaceSelector = namespaceSelector.strip();
        configMap = configMap.strip();
        if (namespaceSelector.isEmpty() || namespaceSelector.length() > 1024
                || !SELECTOR.matcher(namespaceSelector).matches()) {
            throw new IllegalArgumentException("attestmesh.kubernetes.trust-bundle.namespace-selector must be a "
                    + "non-empty Kubernetes label selector of at most 1024 characters such as '" + DEFAULT_SELECTOR
                    + "'; an empty selector would publish into every namespace");
        }
        if (configMap.length() > 253 || !NAME.matcher(configMap).matches()) {
            throw new IllegalArgumentException("attestmesh.kubernetes.trust-bundle.config-map '"
                    + (configMap.length() > 60 ? configMap.substring(0, 60) + "..." : configMap)
                    + "' is not a valid ConfigMap name (lower-case DNS-1123 subdomain, at most 253 characters)");
        }
        if (resync.compareTo(Duration.ofSeconds(10)) < 0 || resync.compareTo(Duration.ofHours(1)) > 0) {
            throw new IllegalArgumentException("attestmesh.kubernetes.trust-bundle.resync " + resync
                    + " must be between 10s and 1h");
        }
    }
}
