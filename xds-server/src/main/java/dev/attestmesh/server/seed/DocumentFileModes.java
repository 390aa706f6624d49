package dev.attestmesh.server.seed;

import java.util.Objects;

/**
 * The mode of each file given at start: {@code attestmesh.policy-file-mode}, {@code
 * attestmesh.registration-file-mode} and {@code attestmesh.mesh-file-mode} (or {@code --apply-policy-file},
 * {@code --apply-registration-file}, {@code --apply-mesh-file} on {@code attestmesh server}). One mode per file,
 * because an operator may keep, say, policies in git while registrations are managed through the admin API.
 */
public record DocumentFileModes(FileMode policies, FileMode registrations, FileMode mesh) {
    /** Every file seeds: the default. */
    public static final DocumentFileModes SEED = new DocumentFileModes(FileMode.SEED, FileMode.SEED, FileMode.SEED);
    /** Every file is applied at start. */
    public static final DocumentFileModes APPLY = new DocumentFileModes(FileMode.APPLY, FileMode.APPLY,
            FileMode.APPLY);

    public DocumentFileModes {
        Objects.requireNonNull(policies, "policies");
        Objects.requireNonNull(registrations, "registrations");
        Objects.requireNonNull(mesh, "mesh");
    }
}
