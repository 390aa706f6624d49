package dev.attestmesh.authz;

import io.envoyproxy.envoy.service.auth.v3.AttributeContext;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;

/**
 * Which policy IDs a Check requires (design section 7), first match wins: the per-route {@value
 * AuthzDecider#POLICY_IDS_KEY} context extension (present means exactly these, even none), then the
 * {@code x-attestmesh-policy-ids} gRPC header, then the mesh config for the destination principal and
 * port ({@link RegistryView#requiredPolicies}). The result is sorted, without duplicates or blanks, so
 * equal requirements make equal decision-cache keys. Thread-safe.
 */
final class RequiredPolicies {
    private final RegistryView view;

    RequiredPolicies(RegistryView view) {
        this.view = view;
    }

    /**
     * @param header policy IDs from the gRPC header (already normalized by the binding's interceptor),
     *     empty to fall back to the mesh config
     */
    List<String> of(AttributeContext attrs, List<String> header) {
        String perRoute = attrs.getContextExtensionsMap().get(AuthzDecider.POLICY_IDS_KEY);
        Collection<String> ids;
        if (perRoute != null) {
            ids = List.of(perRoute.split(",")); // per-route setting wins, even when it lists none
        } else if (!header.isEmpty()) {
            ids = header;
        } else {
            ids = view.requiredPolicies(attrs.getDestination().getPrincipal(),
                    attrs.getDestination().getAddress().getSocketAddress().getPortValue());
        }
        if (ids instanceof List<String> list && isNormalized(list)) {
            return List.copyOf(list); // no copy when already immutable, as the header interceptor's lists are
        }
        TreeSet<String> out = new TreeSet<>();
        for (String id : ids) {
            String t = id.strip();
            if (!t.isEmpty()) {
                out.add(t);
            }
        }
        return List.copyOf(out);
    }

    /** Sorted, without duplicates, blanks or surrounding spaces. */
    static boolean isNormalized(List<String> ids) {
        String prev = null;
        for (String id : ids) {
            if (id.isEmpty() || Character.isWhitespace(id.charAt(0)) || Character.isWhitespace(id.charAt(id.length() - 1))
                    || (prev != null && prev.compareTo(id) >= 0)) {
                return false;
            }
            prev = id;
        }
        return true;
    }
}
