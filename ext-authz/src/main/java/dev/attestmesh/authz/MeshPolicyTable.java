package dev.attestmesh.authz;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The mesh config's policy requirements as ext_authz consults them: for a destination principal (the
 * destination's SPIFFE ID, {@code destination.principal} of a CheckRequest) and port, the policy IDs
 * every caller must satisfy. A principal and port that are not in the table require nothing, provided
 * the view knows that destination ({@link RegistryView#knowsDestination}): the table holds no entry for a
 * node it was never told of either, and ext_authz denies callers of such a destination.
 *
 * <p>The control plane builds it from its mesh config and registry, so that it holds exactly the
 * non-empty answers of its own {@link RegistryView#requiredPolicies}; a standalone replica receives
 * it on the registry watch stream and answers from it. Immutable and valid by construction: every
 * principal is non-blank, every port in 1..65535, every list of policy IDs non-empty, without blanks
 * or duplicates.
 *
 * @param byPrincipal destination principal to port to required policy IDs (in mesh config order)
 */
public record MeshPolicyTable(Map<String, Map<Integer, List<String>>> byPrincipal) {
    /** The table that requires nothing anywhere. */
    public static final MeshPolicyTable EMPTY = new MeshPolicyTable(Map.of());

    public MeshPolicyTable {
        Map<String, Map<Integer, List<String>>> copy = new LinkedHashMap<>();
        byPrincipal.forEach((principal, byPort) -> {
            Objects.requireNonNull(byPort, "ports of " + principal);
            Builder.checkPrincipal(principal);
            Map<Integer, List<String>> ports = new LinkedHashMap<>();
            byPort.forEach((port, ids) -> ports.put(port, Builder.checkedIds(principal, port, ids)));
            if (!ports.isEmpty()) {
                copy.put(principal, Map.copyOf(ports));
            }
        });
        byPrincipal = Map.copyOf(copy);
    }

    /** Policy IDs required of callers of {@code destinationPrincipal} on {@code port}; empty when none. */
    public List<String> required(String destinationPrincipal, int port) {
        Map<Integer, List<String>> ports = byPrincipal.get(destinationPrincipal);
        if (ports == null) {
            return List.of();
        }
        List<String> ids = ports.get(port);
        return ids == null ? List.of() : ids;
    }

    /** Number of (principal, port) entries. */
    public int size() {
        return byPrincipal.values().stream().mapToInt(Map::size).sum();
    }

    public boolean isEmpty() {
        return byPrincipal.isEmpty();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Collects entries one (principal, port) at a time; not thread-safe. */
    public static final class Builder {
        private final Map<String, Map<Integer, List<String>>> byPrincipal = new TreeMap<>();

        private Builder() {}

        /**
         * Requires {@code policyIds} of callers of {@code destinationPrincipal} on {@code port}.
         *
         * @throws IllegalArgumentException when an argument is out of range or the entry was already given
         */
        public Builder require(String destinationPrincipal, int port, List<String> policyIds) {
            checkPrincipal(destinationPrincipal);
            List<String> ids = checkedIds(destinationPrincipal, port, policyIds);
            Map<Integer, List<String>> ports = byPrincipal.computeIfAbsent(destinationPrincipal, k -> new TreeMap<>());
            if (ports.putIfAbsent(port, ids) != null) {
                throw new IllegalArgumentException("mesh policy requirement for " + destinationPrincipal + " port "
                        + port + " is given twice");
            }
            return this;
        }

        public MeshPolicyTable build() {
            return byPrincipal.isEmpty() ? EMPTY : new MeshPolicyTable(byPrincipal);
        }

        private static void checkPrincipal(String principal) {
            if (principal == null || principal.isBlank()) {
                throw new IllegalArgumentException("mesh policy requirement has no destination principal");
            }
        }

        private static List<String> checkedIds(String principal, Integer port, List<String> ids) {
            if (port == null || port < 1 || port > 65535) {
                throw new IllegalArgumentException("mesh policy requirement for " + principal + " has port " + port
                        + ", outside 1-65535");
            }
            if (ids == null || ids.isEmpty()) {
                throw new IllegalArgumentException("mesh policy requirement for " + principal + " port " + port
                        + " lists no policy ID");
            }
            for (String id : ids) {
                if (id == null || id.isBlank()) {
                    throw new IllegalArgumentException("mesh policy requirement for " + principal + " port " + port
                            + " has a blank policy ID");
                }
            }
            if (ids.stream().distinct().count() != ids.size()) {
                throw new IllegalArgumentException("mesh policy requirement for " + principal + " port " + port
                        + " repeats a policy ID: " + ids);
            }
            return List.copyOf(ids);
        }
    }
}
