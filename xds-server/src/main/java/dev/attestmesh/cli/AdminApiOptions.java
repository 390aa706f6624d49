package dev.attestmesh.cli;

import picocli.CommandLine.Option;

/**
 * Where the admin API is and how to authenticate, shared by the operator commands. From the
 * environment: {@code ATTESTMESH_ADMIN_URL}, {@code ATTESTMESH_ADMIN_TOKEN}.
 */
final class AdminApiOptions {
    @Option(names = {"--admin", "--admin-url"}, defaultValue = "http://127.0.0.1:15014",
            description = "Admin API base URL (default ${DEFAULT-VALUE}).")
    String url;

    @Option(names = {"--token", "--admin-token"}, description = "Admin API bearer token (or ATTESTMESH_ADMIN_TOKEN).")
    String token;

    AdminApiClient client() {
        if (token == null || token.isBlank()) {
            throw new IllegalArgumentException("an admin API token is required: pass --token or set ATTESTMESH_ADMIN_TOKEN "
                    + "(the first admin token is in <data-dir>/admin-token unless one was configured)");
        }
        return new AdminApiClient(url, token.trim());
    }
}
