package dev.attestmesh.server.store;

import java.time.Duration;
import java.util.Optional;

/**
 * Where the control plane keeps its state. With no URL, an embedded H2 file database in the data
 * directory (one process only). With a {@code jdbc:postgresql:} URL, a pooled PostgreSQL database that
 * several replicas may share; {@code jdbc:h2:} URLs are accepted for tests and single-process setups.
 *
 * <p>{@link #toString()} never shows the password.
 *
 * @param url JDBC URL ({@code attestmesh.database.url} / {@code ATTESTMESH_DATABASE_URL})
 * @param user database user, when not given in the URL
 * @param password database password, when not given in the URL
 * @param maxPoolSize most pooled connections to PostgreSQL (the change notifier holds two more)
 * @param maxStaleness how long a PostgreSQL replica's embedded ext_authz keeps deciding from its last view once
 *     it stopped hearing other replicas' changes (its {@code LISTEN} connection is lost); after that it denies
 *     every Check until the connection is back ({@code attestmesh.database.max-staleness}, default 30 s)
 */
public record DatabaseSettings(Optional<String> url, Optional<String> user, Optional<String> password,
        int maxPoolSize, Duration maxStaleness) {
    /** Default pool size: enough for concurrent attestations without crowding a shared server. */
    public static final int DEFAULT_POOL_SIZE = 10;
    /** Default staleness bound of a replica's view while it cannot hear other replicas' changes. */
    public static final Duration DEFAULT_MAX_STALENESS = Duration.ofSeconds(30);
    /** Smallest and largest staleness bounds accepted. */
    public static final Duration MIN_MAX_STALENESS = Duration.ofSeconds(1);
    public static final Duration MAX_MAX_STALENESS = Duration.ofHours(1);

    /** Settings with the default staleness bound. */
    public DatabaseSettings(Optional<String> url, Optional<String> user, Optional<String> password, int maxPoolSize) {
        this(url, user, password, maxPoolSize, DEFAULT_MAX_STALENESS);
    }

    public DatabaseSettings {
        if (maxStaleness == null || maxStaleness.compareTo(MIN_MAX_STALENESS) < 0
                || maxStaleness.compareTo(MAX_MAX_STALENESS) > 0) {
            throw new IllegalArgumentException("attestmesh.database.max-staleness must be between "
                    + MIN_MAX_STALENESS.toSeconds() + "s and " + MAX_MAX_STALENESS.toMinutes() + "m, was " + maxStaleness);
        }
        url = url.map(String::strip).filter(s -> !s.isEmpty());
        user = user.filter(s -> !s.isBlank());
        password = password.filter(s -> !s.isEmpty());
        if (maxPoolSize < 2) {
            // One connection may hold a store lock while the work under it runs on another.
            throw new IllegalArgumentException("database pool size " + maxPoolSize + " is too small: use at least 2");
        }
        if (url.isPresent() && !url.get().startsWith("jdbc:postgresql:") && !url.get().startsWith("jdbc:h2:")) {
            throw new IllegalArgumentException("database URL must start with jdbc:postgresql: (or jdbc:h2:), got '"
                    + url.get().replaceAll("password=[^&;]*", "password=***") + "'");
        }
    }

    /** The embedded H2 default. */
    public static DatabaseSettings embedded() {
        return new DatabaseSettings(Optional.empty(), Optional.empty(), Optional.empty(), DEFAULT_POOL_SIZE);
    }

    /** Settings from configuration strings, where blank means "not set". */
    public static DatabaseSettings of(String url, String user, String password) {
        return new DatabaseSettings(Optional.ofNullable(url), Optional.ofNullable(user), Optional.ofNullable(password),
                DEFAULT_POOL_SIZE);
    }

    /** These settings with another staleness bound ({@code attestmesh.database.max-staleness}). */
    public DatabaseSettings withMaxStaleness(Duration bound) {
        return new DatabaseSettings(url, user, password, maxPoolSize, bound);
    }

    /** True when the state lives in the embedded H2 file database of the data directory. */
    public boolean isEmbedded() {
        return url.isEmpty();
    }

    /** True for PostgreSQL, the only store several replicas can share. */
    public boolean isPostgres() {
        return url.map(u -> u.startsWith("jdbc:postgresql:")).orElse(false);
    }

    @Override
    public String toString() {
        return "DatabaseSettings[url=" + url.map(u -> u.replaceAll("password=[^&;]*", "password=***")).orElse("(embedded)")
                + ", user=" + user.orElse("") + ", password=" + (password.isPresent() ? "***" : "") + ", maxPoolSize="
                + maxPoolSize + ", maxStaleness=" + maxStaleness + "]";
    }
}
