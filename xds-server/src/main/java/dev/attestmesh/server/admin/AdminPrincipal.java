package dev.attestmesh.server.admin;

/**
 * Who is calling the admin API, once authenticated.
 *
 * @param id token id (for tokens) or the client certificate's SPIFFE ID (for mTLS)
 * @param name human-readable name recorded with the changes this caller makes
 * @param role the caller's role
 */
public record AdminPrincipal(String id, String name, AdminRole role) {
    /** The request attribute under which {@link AdminAuthFilter} leaves the principal for controllers. */
    public static final String REQUEST_ATTRIBUTE = "attestmesh.admin.principal";
}
