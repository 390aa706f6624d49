package dev.attestmesh.authz;

import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * What one change of a {@link RegistryView} may have altered, as {@linkplain
 * RegistryView#addTargetedChangeListener targeted listeners} are told: either {@linkplain #EVERYTHING
 * anything} (policy versions, the trust bundle, the mesh config, a full resynchronisation, the view becoming
 * stale or current again), or only the records of some nodes, named with every principal (SPIFFE ID) those
 * nodes were recorded under before the change or are after it. A decision that read none of those nodes and
 * none of those principals still holds after such a change.
 *
 * <p>Bounded: a change naming more than {@value #MAX_NAMED} nodes or principals is {@link #EVERYTHING} (a
 * large delta from the control plane re-decides everything rather than carry thousands of names through
 * every listener).
 *
 * @param everything whether anything at all may have changed; then the sets are empty
 * @param nodeIds the nodes whose records changed
 * @param principals the SPIFFE IDs those nodes held before the change and hold after it
 */
public record RegistryChange(boolean everything, Set<String> nodeIds, Set<String> principals) {
    /** Above this many names a change is treated as a change of everything. */
    public static final int MAX_NAMED = 1024;

    /** Anything may have changed. */
    public static final RegistryChange EVERYTHING = new RegistryChange(true, Set.of(), Set.of());

    public RegistryChange {
        nodeIds = Set.copyOf(nodeIds);
        principals = Set.copyOf(principals);
        if (everything && (!nodeIds.isEmpty() || !principals.isEmpty())) {
            throw new IllegalArgumentException("a change of everything names no nodes");
        }
    }

    /**
     * A change of the records of {@code nodeIds} only, which were or are recorded under {@code principals}; {@link
     * #EVERYTHING} when that names more than {@value #MAX_NAMED} of either, or no node at all (a caller that cannot
     * say what changed).
     */
    public static RegistryChange nodes(Collection<String> nodeIds, Collection<String> principals) {
        if (nodeIds.isEmpty() || nodeIds.size() > MAX_NAMED || principals.size() > MAX_NAMED) {
            return EVERYTHING;
        }
        return new RegistryChange(false, new LinkedHashSet<>(nodeIds), new LinkedHashSet<>(principals));
    }

    /** A change of one node's record, which was recorded under {@code before} (null when new) and is under {@code after}. */
    public static RegistryChange node(String nodeId, String before, String after) {
        Set<String> principals = new LinkedHashSet<>();
        if (before != null) {
            principals.add(before);
        }
        if (after != null) {
            principals.add(after);
        }
        return new RegistryChange(false, Set.of(nodeId), principals);
    }
}
