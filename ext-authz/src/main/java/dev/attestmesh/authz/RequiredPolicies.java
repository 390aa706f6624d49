package dev.attestmesh.authz;

import dev.attestmesh.authz.peer.UntrustedText;
import java.util.Collection;
import java.util.List;
import java.util.TreeSet;

/**
 * Which policy IDs a Check requires (design section 7), first match wins: the per-route {@value
 * AuthzDecider#POLICY_IDS_KEY} context extension (present means exactly these, even none), then the
 * {@code x-attestmesh-policy-ids} gRPC header, then the mesh config for the destination principal and
 * port ({@link RegistryView#requiredPolicies}). The result is sorted, without duplicates or blanks, so
 * equal requirements make equal decision-cache keys.
 *
 * <p>The mesh config answers only for a destination the view {@linkplain RegistryView#knowsDestination
 * knows}. For one it does not (a replica that has not synced that node yet, an unnamed or unknown
 * principal) the requirement is {@link Unresolved}, and the decider denies: an unknown destination never
 * "requires nothing". Thread-safe.
 */
final class RequiredPolicies {
    /** What a Check requires. */
    sealed interface Requirement permits Required, Unresolved {}

    /** Every one of {@code policyIds} (sorted, no duplicates or blanks; possibly none). */
    record Required(List<String> policyIds) implements Requirement {}

    /** The requirement cannot be known here; {@code reason} says why, for the denial. */
    record Unresolved(String reason) implements Requirement {}

    private final RegistryView view;

    RequiredPolicies(RegistryView view) {
        this.view = view;
    }

    /**
     * @param header policy IDs from the gRPC header (already normalized by the binding's Check handler),
     *     empty to fall back to the mesh config
     */
    Requirement of(CheckFields req, List<String> header) {
        String perRoute = req.contextPolicyIds();
        Collection<String> ids;
        if (perRoute != null) {
            ids = List.of(perRoute.split(",")); // per-route setting wins, even when it lists none
        } else if (!header.isEmpty()) {
            ids = header;
        } else {
            String destination = req.destinationPrincipal();
            int port = req.destinationPort();
            if (destination.isEmpty()) {
                return new Unresolved("destination unknown: the request names no destination principal and no "
                        + AuthzDecider.POLICY_IDS_KEY + ", so the policies required on port " + port
                        + " cannot be resolved");
            }
            if (!view.knowsDestination(destination)) {
                return new Unresolved("destination not synced: this ext_authz knows no node under destination '"
                        + UntrustedText.quote(destination) + "' yet, so it cannot tell what the mesh config requires "
                        + "on port " + port + " (denied until it does; or send " + AuthzDecider.POLICY_IDS_KEY + ")");
            }
            ids = view.requiredPolicies(destination, port);
        }
        return new Required(normalized(ids));
    }

    private static List<String> normalized(Collection<String> ids) {
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
