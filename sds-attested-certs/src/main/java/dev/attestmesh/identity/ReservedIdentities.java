package dev.attestmesh.identity;

import dev.attestmesh.ca.SpiffeId;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The SPIFFE IDs reserved for AttestMesh's own components (DESIGN.md section 5a). Every path under
 * {@value #PREFIX} is reserved: no registration can grant one, so no attested node can hold one.
 * <ul>
 *   <li>{@code spiffe://<td>/attestmesh/control-plane}: the control plane's serving certificate, pinned
 *       by every bootstrap and by the node agent;</li>
 *   <li>{@code spiffe://<td>/attestmesh/replica/<name>}: standalone ext_authz replicas watching the
 *       registry;</li>
 *   <li>{@code spiffe://<td>/attestmesh/admin/<name>}: admin API clients.</li>
 * </ul>
 */
public final class ReservedIdentities {
    /** The reserved path prefix (a whole segment: {@code /attestmesh-x} is not reserved). */
    public static final String PREFIX = "/attestmesh";
    private static final Pattern NAME = Pattern.compile("[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?");

    private ReservedIdentities() {}

    /** Whether {@code path} (a SPIFFE ID path) is reserved. */
    public static boolean isReservedPath(String path) {
        return path.equals(PREFIX) || path.startsWith(PREFIX + "/");
    }

    /** Whether {@code id} is reserved. */
    public static boolean isReserved(SpiffeId id) {
        return isReservedPath(id.path());
    }

    /** {@code spiffe://<td>/attestmesh/control-plane}. */
    public static SpiffeId controlPlane(String trustDomain) {
        return new SpiffeId(trustDomain, PREFIX + "/control-plane");
    }

    /** {@code spiffe://<td>/attestmesh/replica/<name>}; the name is a DNS label. */
    public static SpiffeId replica(String trustDomain, String name) {
        return new SpiffeId(trustDomain, PREFIX + "/replica/" + checkName(name));
    }

    /** {@code spiffe://<td>/attestmesh/admin/<name>}; the name is a DNS label. */
    public static SpiffeId admin(String trustDomain, String name) {
        return new SpiffeId(trustDomain, PREFIX + "/admin/" + checkName(name));
    }

    /** The admin name when {@code uri} is a reserved admin identity of {@code trustDomain}. */
    public static Optional<String> adminName(String trustDomain, String uri) {
        return reservedName(trustDomain, uri, "/admin/");
    }

    /** The replica name when {@code uri} is a reserved replica identity of {@code trustDomain}. */
    public static Optional<String> replicaName(String trustDomain, String uri) {
        return reservedName(trustDomain, uri, "/replica/");
    }

    private static Optional<String> reservedName(String trustDomain, String uri, String kind) {
        String prefix = "spiffe://" + trustDomain + PREFIX + kind;
        if (!uri.startsWith(prefix)) {
            return Optional.empty();
        }
        String name = uri.substring(prefix.length());
        return NAME.matcher(name).matches() ? Optional.of(name) : Optional.empty();
    }

    private static String checkName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("reserved identity name '" + name
                    + "' must be a DNS label: 1-63 characters of a-z 0-9 . -, starting and ending with a letter or digit");
        }
        return name;
    }
}
