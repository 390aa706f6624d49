package dev.attestmesh.server.store;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;
import java.util.UUID;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.PostgreSQLContainer;

/**
 * The PostgreSQL that the multi-replica tests run on, in this order: env
 * {@code ATTESTMESH_TEST_POSTGRES_URL}, the file {@code .ci/postgres.env} that {@code .ci/postgres start}
 * writes (looked up from the working directory upwards), or a Testcontainers container when Docker
 * runs. Without any, {@link #freshSchema} skips the calling test with a message saying how to get one.
 *
 * <p>Each test gets its own schema, so tests never see each other's rows.
 */
public final class TestPostgres {
    public static final String ENV = "ATTESTMESH_TEST_POSTGRES_URL";
    private static volatile Optional<String> baseUrl;

    private TestPostgres() {}

    /** A new empty schema; skips the test when no PostgreSQL is available. */
    public static DatabaseSettings freshSchema() {
        String url = baseUrl().orElse(null);
        assumeTrue(url != null, "no PostgreSQL for the multi-replica tests: run '.ci/postgres start' (writes "
                + ".ci/postgres.env), set " + ENV + "=jdbc:postgresql://HOST:PORT/DB?user=U&password=P, or run Docker "
                + "for Testcontainers");
        String schema = "t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
        try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
            s.execute("CREATE SCHEMA " + schema);
        } catch (SQLException e) {
            throw new AssertionError("cannot create a test schema on the test PostgreSQL: " + e.getMessage(), e);
        }
        dropAtExit(url, schema);
        String withSchema = url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema;
        return new DatabaseSettings(Optional.of(withSchema), Optional.empty(), Optional.empty(), 4);
    }

    private static void dropAtExit(String url, String schema) {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try (Connection c = DriverManager.getConnection(url); Statement s = c.createStatement()) {
                s.execute("DROP SCHEMA " + schema + " CASCADE");
            } catch (SQLException e) {
                // Best effort: a leftover schema only takes space in a throw-away test database.
            }
        }));
    }

    static synchronized Optional<String> baseUrl() {
        if (baseUrl == null) {
            baseUrl = fromEnvironment().or(TestPostgres::fromCiFile).or(TestPostgres::fromContainer);
        }
        return baseUrl;
    }

    private static Optional<String> fromEnvironment() {
        return Optional.ofNullable(System.getenv(ENV)).filter(s -> !s.isBlank());
    }

    private static Optional<String> fromCiFile() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path f = dir.resolve(".ci").resolve("postgres.env");
            if (Files.isRegularFile(f)) {
                try {
                    return Files.readAllLines(f).stream().filter(l -> l.startsWith(ENV + "="))
                            .map(l -> l.substring(ENV.length() + 1).strip()).findFirst();
                } catch (IOException e) {
                    throw new AssertionError("cannot read " + f + ": " + e.getMessage(), e);
                }
            }
        }
        return Optional.empty();
    }

    @SuppressWarnings("resource") // lives for the test JVM; Testcontainers removes it at exit
    private static Optional<String> fromContainer() {
        if (!DockerClientFactory.instance().isDockerAvailable()) {
            return Optional.empty();
        }
        PostgreSQLContainer<?> pg = new PostgreSQLContainer<>("postgres:16-alpine");
        pg.start();
        return Optional.of(pg.getJdbcUrl() + (pg.getJdbcUrl().contains("?") ? "&" : "?") + "user=" + pg.getUsername()
                + "&password=" + pg.getPassword());
    }
}
