package dev.attestmesh.server.admin;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bearer tokens of the admin API. A token is {@code amt_} followed by 43 base64url characters (256
 * random bits); only its SHA-256 is stored, so a copy of the database does not grant access. A new
 * token is shown once, when created.
 */
public final class AdminTokens {
    private static final Logger LOG = LoggerFactory.getLogger(AdminTokens.class);
    /** The file, in the data directory, that receives the first admin token when none is configured. */
    public static final String GENERATED_TOKEN_FILE = "admin-token";
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9 ._@:/-]{1,128}");
    private static final SecureRandom RANDOM = new SecureRandom();

    /** A token's description: everything but the token. */
    public record TokenInfo(String id, String name, AdminRole role, Instant createdAt) {}

    /** A token just created: the only time the token itself is available. */
    public record IssuedToken(TokenInfo info, String token) {
        @Override
        public String toString() {
            return "IssuedToken[" + info + ", token=<hidden>]"; // never print the token
        }
    }

    private final AdminTokenStore store;
    private final Clock clock;

    public AdminTokens(AdminTokenStore store, Clock clock) {
        this.store = store;
        this.clock = clock;
    }

    /** The caller holding {@code token}, if it is a current token. */
    public Optional<AdminPrincipal> authenticate(String token) {
        if (token.isEmpty() || token.length() > 256) {
            return Optional.empty();
        }
        return store.byHash(sha256(token)).map(t -> new AdminPrincipal(t.id(), t.name(), t.role()));
    }

    /**
     * Creates a token.
     *
     * @throws IllegalArgumentException when the name is empty, too long or has unusual characters
     */
    public IssuedToken create(String name, AdminRole role) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("token name must be 1-128 characters of letters, digits, space and ._@:/-");
        }
        byte[] raw = new byte[32];
        RANDOM.nextBytes(raw);
        String token = "amt_" + Base64.getUrlEncoder().withoutPadding().encodeToString(raw);
        return new IssuedToken(insert(name, role, token), token);
    }

    public List<TokenInfo> list() {
        return store.all().stream().map(t -> new TokenInfo(t.id(), t.name(), t.role(), t.createdAt())).toList();
    }

    /** @return false when no token has this id */
    public boolean delete(String id) {
        return store.delete(id);
    }

    /**
     * Makes sure an admin can get in on first start. A configured token ({@code attestmesh.admin.token} /
     * {@code ATTESTMESH_ADMIN_TOKEN}) is registered as an admin token if it is not yet known. Otherwise,
     * when no admin token exists, one is generated into {@code <dataDir>/admin-token} (mode 0600) and the
     * file's path, never the token, is logged.
     */
    public void bootstrap(Optional<String> configuredToken, Path dataDir) throws IOException {
        if (configuredToken.isPresent() && !configuredToken.get().isBlank()) {
            String token = configuredToken.get().trim();
            if (token.length() < 16) {
                throw new IllegalArgumentException("attestmesh.admin.token (ATTESTMESH_ADMIN_TOKEN) is "
                        + token.length() + " characters; use at least 16 random characters");
            }
            if (authenticate(token).isEmpty()) {
                insert("bootstrap-configured", AdminRole.ADMIN, token);
                LOG.info("registered the configured admin token (attestmesh.admin.token) as an admin token");
            }
            return;
        }
        if (store.all().stream().anyMatch(t -> t.role() == AdminRole.ADMIN)) {
            return;
        }
        IssuedToken first = create("bootstrap-generated", AdminRole.ADMIN);
        Path file = dataDir.resolve(GENERATED_TOKEN_FILE);
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, first.token() + "\n", StandardCharsets.US_ASCII, StandardOpenOption.TRUNCATE_EXISTING);
        LOG.warn("no admin token was configured (ATTESTMESH_ADMIN_TOKEN): generated the first admin token into {} "
                + "(mode 0600). Use it to create named tokens (POST /api/v1/tokens), then delete it.", file.toAbsolutePath());
    }

    private TokenInfo insert(String name, AdminRole role, String token) {
        AdminTokenStore.StoredToken t = new AdminTokenStore.StoredToken(UUID.randomUUID().toString(), name, role,
                sha256(token), clock.instant().truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
        store.insert(t);
        return new TokenInfo(t.id(), t.name(), t.role(), t.createdAt());
    }

    static String sha256(String token) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available in this JVM", e);
        }
    }
}
