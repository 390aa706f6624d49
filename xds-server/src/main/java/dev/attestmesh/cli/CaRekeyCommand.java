package dev.attestmesh.cli;

import dev.attestmesh.server.ca.CaEncryptionKey;
import dev.attestmesh.server.ca.CaRekey;
import dev.attestmesh.server.store.Database;
import dev.attestmesh.server.store.DatabaseSettings;
import dev.attestmesh.server.store.ReplicaSessions;
import dev.attestmesh.server.store.StoreException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code attestmesh ca rekey}: changes the operator's CA encryption key offline. It opens the store the control
 * plane uses (the H2 file in {@code --data-dir}, or PostgreSQL), opens everything sealed under the old key and
 * re-seals it under the new one in one transaction ({@link CaRekey}). Keys are read from files or the server's own
 * settings, never from the command line (which other users can see in the process list), and never printed.
 *
 * <p>Never against a live store: H2's file lock refuses a second process, and on PostgreSQL the command refuses
 * while a replica's change-notification session is connected and also needs {@code --confirm-stopped}, because a
 * replica connecting as another database user may be invisible to the check.
 */
@Command(name = "rekey", mixinStandardHelpOptions = true,
        description = {"Change the CA encryption key, offline: re-seal the stored mesh CA, every secret version and",
            "every policy sealing key under --new-key-file, in one transaction (all or nothing). Stop every control",
            "plane on the store first. The old key comes from --old-key-file, else from where the server reads it",
            "(ATTESTMESH_CA_KEY, attestmesh.ca-key, ATTESTMESH_CA_KEY_FILE, attestmesh.ca-key-file,",
            "<data-dir>/ca-encryption.key). Not for a CA sealed to a TEE (caKeySealing other than operator-key)."})
final class CaRekeyCommand implements Callable<Integer> {
    @Option(names = "--data-dir", defaultValue = "./attestmesh-data",
            description = "The control plane's data directory (or ATTESTMESH_DATA_DIR; default ${DEFAULT-VALUE}); "
                    + "holds the H2 store unless --database-url is set.")
    Path dataDir;

    @Option(names = "--database-url", description = "The PostgreSQL JDBC URL the control plane uses (or "
            + "ATTESTMESH_DATABASE_URL); absent: the H2 store in --data-dir.")
    String databaseUrl;

    @Option(names = "--database-user", description = "Database user (or ATTESTMESH_DATABASE_USER).")
    String databaseUser;

    @Option(names = "--database-password", hidden = true,
            description = "Prefer ATTESTMESH_DATABASE_PASSWORD: a value here is visible in the process list.")
    String databasePassword;

    @Option(names = "--old-key-file", paramLabel = "FILE",
            description = "File holding the key the store is sealed under now (default: where the server reads it).")
    Path oldKeyFile;

    @Option(names = "--new-key-file", paramLabel = "FILE", required = true,
            description = "File holding the new key (UTF-8 text, surrounding white space ignored, at least "
                    + CaEncryptionKey.MIN_NEW_KEY_CHARS + " characters).")
    Path newKeyFile;

    @Option(names = "--confirm-stopped", description = "Required with PostgreSQL: every control plane replica on "
            + "this database is stopped.")
    boolean confirmStopped;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Where the server's key settings are read from; the real process environment and properties by default. */
    Map<String, String> environment = System.getenv();
    Map<String, String> properties = systemProperties();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        DatabaseSettings settings = DatabaseSettings.of(databaseUrl, databaseUser, databasePassword);
        if (settings.isEmbedded()) {
            Path file = dataDir.resolve("attestmesh.mv.db");
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("no control plane store at " + file.toAbsolutePath()
                        + ": pass the --data-dir the control plane runs with (or --database-url)");
            }
        } else if (!confirmStopped) {
            throw new IllegalArgumentException("on a shared database ca rekey needs --confirm-stopped: stop every "
                    + "control plane replica using it first (a running replica keeps sealing under the old key)");
        }
        CaEncryptionKey.Loaded newKey = CaEncryptionKey.fromFile(newKeyFile, CaEncryptionKey.Source.EXPLICIT_FILE);
        try {
            CaEncryptionKey.requireStrongEnoughToSealUnder(newKey.key(), "the new CA encryption key in " + newKeyFile);
            CaEncryptionKey.Loaded oldKey = oldKeyFile != null
                    ? CaEncryptionKey.fromFile(oldKeyFile, CaEncryptionKey.Source.EXPLICIT_FILE)
                    : CaEncryptionKey.configured(dataDir, properties, environment);
            try (Database db = open(settings)) {
                if (db.vendor() == Database.Vendor.POSTGRESQL) {
                    List<ReplicaSessions.Session> live = ReplicaSessions.connected(db);
                    if (!live.isEmpty()) {
                        throw new IllegalStateException(live.size() + " control plane replica(s) are connected to "
                                + db.description() + " (" + live.stream().map(s -> "pid " + s.pid() + " from "
                                + s.clientAddress() + " since " + s.backendStart()).collect(Collectors.joining("; "))
                                + "): stop them, then run ca rekey again; nothing was changed");
                    }
                }
                CaRekey.Result r = CaRekey.rekey(db, oldKey.key(), newKey.key(), Clock.systemUTC());
                out.printf("re-sealed under the new CA encryption key, in one transaction: the mesh CA of trust domain "
                        + "'%s' (root sha256 %s), %d secret version(s), %d policy sealing key(s), %d EAR signing key(s)%n",
                        r.trustDomain(), r.rootSha256(), r.secretVersions(), r.sealingKeys(), r.earSigningKeys());
                out.printf("the old key came from %s; it no longer opens this store.%n", oldKey.source().label());
                out.printf("next: give every control plane the new key (ATTESTMESH_CA_KEY from your secret store, or "
                        + "attestmesh.ca-key-file=%s) and start it; one started with the old key stops with "
                        + "\"cannot open the stored mesh CA\".%n", newKeyFile.toAbsolutePath());
                if (oldKey.source() == CaEncryptionKey.Source.GENERATED_FILE) {
                    Path generated = oldKey.file().orElseThrow();
                    out.printf("%s holds the OLD key and would be used by a control plane started without a "
                            + "configured key (and then refuse to start): move it out of the data directory (keep it "
                            + "only with backups taken before this rekey, which it still opens) once the new key is "
                            + "configured.%n", generated.toAbsolutePath());
                }
                out.flush();
                return 0;
            } finally {
                oldKey.wipe();
            }
        } finally {
            newKey.wipe();
        }
    }

    private Database open(DatabaseSettings settings) {
        try {
            return Database.open(settings, dataDir);
        } catch (StoreException e) {
            if (settings.isEmbedded()) {
                throw new IllegalStateException("cannot open the H2 store in " + dataDir.toAbsolutePath()
                        + ": a control plane is probably still running on it (H2 holds a file lock while open); stop "
                        + "it (SIGTERM) and run ca rekey again; nothing was changed (" + e.getMessage() + ")", e);
            }
            throw e;
        }
    }

    private static Map<String, String> systemProperties() {
        return System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("attestmesh."))
                .collect(Collectors.toMap(k -> k, System::getProperty));
    }
}
