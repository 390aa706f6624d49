package dev.attestmesh.server.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.issuance.IssuanceLog;
import dev.attestmesh.issuance.IssuanceLogEntry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A commit to the embedded H2 store is in its file when the commit returns (the group commit of {@link
 * Database#inTransaction}, {@code EmbeddedGroupCommit}), so a kill -9 of the process
 * loses nothing that was acknowledged. A child JVM ({@link #main}) appends issuance-log entries as fast as it
 * can and prints each sequence number only after its transaction committed; the test kills it with SIGKILL
 * while it writes, reopens the file, and requires every printed entry with an intact hash chain. With H2's
 * default background write alone (WRITE_DELAY 500 ms, the group commit disabled) every one of 335-363 entries
 * acknowledged within the first second was missing.
 */
class EmbeddedStoreDurabilityTest {
    private static final String COMMITTED = "committed ";
    /** Acknowledged commits the child must have printed before it is killed. */
    private static final int BEFORE_KILL = 300;
    /** The child stops on its own after this many, so a broken kill cannot leave it running for long. */
    private static final int CHILD_LIMIT = 200_000;

    private Path dir;
    private Process child;

    @BeforeEach
    void directory() throws IOException {
        dir = Files.createTempDirectory("attestmesh-durability");
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (child != null) {
            child.destroyForcibly();
            child.waitFor(10, TimeUnit.SECONDS);
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void everyAcknowledgedCommitSurvivesKill9OfTheProcess() throws Exception {
        Path data = dir.resolve("data");
        child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"),
                EmbeddedStoreDurabilityTest.class.getName(), data.toString())
                .redirectError(dir.resolve("child.err").toFile()).start();
        List<Long> acknowledged = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line;
            while (acknowledged.size() < BEFORE_KILL && System.nanoTime() < deadline && (line = out.readLine()) != null) {
                if (line.startsWith(COMMITTED)) {
                    acknowledged.add(Long.parseLong(line.substring(COMMITTED.length())));
                }
            }
            assertEquals(BEFORE_KILL, acknowledged.size(), "the child acknowledged commits; stderr:\n"
                    + Files.readString(dir.resolve("child.err")));
            // SIGKILL while the child is still appending (through its handle: Process.destroyForcibly also closes
            // the pipe, and the lines printed before the kill are still to be read from it).
            child.toHandle().destroyForcibly();
            assertTrue(child.waitFor(10, TimeUnit.SECONDS), "kill -9 ended the child");
            while ((line = out.readLine()) != null) {
                if (line.startsWith(COMMITTED)) {
                    acknowledged.add(Long.parseLong(line.substring(COMMITTED.length())));
                }
            }
        }

        try (Database db = Database.embedded(data)) {
            IssuanceLog log = new IssuanceLog(new JdbcIssuanceLogStore(db));
            assertTrue(log.verify().intact(), "the hash chain holds after kill -9: " + log.verify());
            Set<Long> stored = log.list(1, CHILD_LIMIT).stream().map(IssuanceLogEntry::sequence)
                    .collect(Collectors.toSet());
            List<Long> lost = acknowledged.stream().filter(s -> !stored.contains(s)).toList();
            assertTrue(lost.isEmpty(), lost.size() + " of " + acknowledged.size() + " acknowledged commits were lost "
                    + "by kill -9, the first " + lost.stream().limit(5).toList());
            // Whatever was written but not yet acknowledged may or may not be there; nothing else is.
            assertTrue(stored.size() >= acknowledged.size() && stored.size() <= acknowledged.size() + 1,
                    "stored " + stored.size() + " entries for " + acknowledged.size() + " acknowledged");
        }
    }

    /** The child: appends entries to the embedded store in {@code args[0]}, printing each after it committed. */
    public static void main(String[] args) {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        try (Database db = Database.embedded(Path.of(args[0]))) {
            IssuanceLog log = new IssuanceLog(new JdbcIssuanceLogStore(db));
            for (int i = 1; i <= CHILD_LIMIT; i++) {
                IssuanceLogEntry e = log.append(Long.toHexString(i), "node-" + i, "spiffe://attestmesh.local/node/node-" + i,
                        "00".repeat(32), List.of("default"), Instant.now());
                out.println(COMMITTED + e.sequence());
            }
        }
    }
}
