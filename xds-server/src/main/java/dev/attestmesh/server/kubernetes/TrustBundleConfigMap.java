package dev.attestmesh.server.kubernetes;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The trust bundle ConfigMap one namespace should hold, and whether an existing one must be rewritten.
 *
 * <p>Several control plane replicas may publish at once. Their content is identical while they hold the same
 * CA, so concurrent writes are harmless; during an intermediate rotation a replica that has not seen the new CA
 * yet must not put the older bundle back. Each ConfigMap therefore carries the bundle's generation (the newest
 * {@code notBefore} among its certificates, in Unix seconds, annotation {@value #GENERATION}); a replica rewrites
 * a ConfigMap only when its own generation is the same or newer. An edit by anyone else that keeps the
 * generation is restored.
 */
public record TrustBundleConfigMap(String pem, long generation) {
    /** Label set on every published ConfigMap (the publisher watches ConfigMaps by it). */
    public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    public static final String MANAGED_BY_VALUE = "attestmesh";
    /** Annotation carrying the bundle generation. */
    public static final String GENERATION = "attestmesh.dev/trust-bundle-generation";

    public TrustBundleConfigMap {
        Objects.requireNonNull(pem);
    }

    /** The bundle as PEM, with its generation. */
    public static TrustBundleConfigMap of(List<X509Certificate> bundle, String pem) {
        long generation = bundle.stream().mapToLong(c -> c.getNotBefore().toInstant().getEpochSecond()).max()
                .orElseThrow(() -> new IllegalArgumentException("the trust bundle is empty"));
        return new TrustBundleConfigMap(pem, generation);
    }

    /** The ConfigMap to create in {@code namespace}. */
    public ConfigMap desired(String namespace, String name) {
        return new ConfigMapBuilder().withNewMetadata().withNamespace(namespace).withName(name)
                .addToLabels(MANAGED_BY, MANAGED_BY_VALUE)
                .addToAnnotations(GENERATION, Long.toString(generation)).endMetadata()
                .addToData(TrustBundleSettings.KEY, pem).build();
    }

    /** What to do with a ConfigMap found in the namespace. */
    public enum Action { NONE, WRITE, NEWER_ELSEWHERE }

    /**
     * Compares {@code existing} with this bundle. A generation more than a day ahead of {@code now} cannot come
     * from a real CA and is overwritten, so a forged annotation cannot freeze the bundle.
     */
    public Action compare(ConfigMap existing, java.time.Instant now) {
        Map<String, String> annotations = existing.getMetadata().getAnnotations();
        long theirs = parseGeneration(annotations == null ? null : annotations.get(GENERATION));
        if (theirs > generation && theirs <= now.plus(java.time.Duration.ofDays(1)).getEpochSecond()) {
            return Action.NEWER_ELSEWHERE;
        }
        Map<String, String> labels = existing.getMetadata().getLabels();
        boolean same = theirs == generation
                && existing.getData() != null && existing.getData().size() == 1
                && pem.equals(existing.getData().get(TrustBundleSettings.KEY))
                && (existing.getBinaryData() == null || existing.getBinaryData().isEmpty())
                && labels != null && MANAGED_BY_VALUE.equals(labels.get(MANAGED_BY));
        return same ? Action.NONE : Action.WRITE;
    }

    /** {@code existing} with this bundle's data, label and annotation; its other metadata and resourceVersion kept. */
    public ConfigMap rewrite(ConfigMap existing) {
        Map<String, String> labels = new HashMap<>(existing.getMetadata().getLabels() == null ? Map.of()
                : existing.getMetadata().getLabels());
        labels.put(MANAGED_BY, MANAGED_BY_VALUE);
        Map<String, String> annotations = new HashMap<>(existing.getMetadata().getAnnotations() == null ? Map.of()
                : existing.getMetadata().getAnnotations());
        annotations.put(GENERATION, Long.toString(generation));
        return new ConfigMapBuilder(existing).editMetadata().withLabels(labels).withAnnotations(annotations).endMetadata()
                .withData(Map.of(TrustBundleSettings.KEY, pem)).withBinaryData(null).build();
    }

    /** A missing or unreadable generation counts as the oldest (0): it is overwritten. */
    private static long parseGeneration(String value) {
        if (value == null || value.length() > 19) {
            return 0;
        }
        try {
            return Math.max(0, Long.parseLong(value));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
