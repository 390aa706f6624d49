package dev.attestmesh.agent;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The operator secrets released to this node, as files in {@code <output-dir>/secrets/} (docs/secrets.md): one file
 * per secret, named as the secret, mode 0600, each written atomically (temporary file, then rename). The directory
 * always holds exactly the set of the last release: a secret no longer released (revoked node, rule changed,
 * secret deleted) is deleted, and a refusal deletes them all.
 */
public final class SecretFiles {
    /** The folder, inside the output directory, holding the secrets. */
    public static final String FOLDER = "secrets";
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    private static final int MAX_VALUE_BYTES = 64 * 1024;

    private final Path dir;

    public SecretFiles(Path outputDir) {
        this.dir = outputDir.resolve(FOLDER);
    }

    public Path directory() {
        return dir;
    }

    /**
     * Makes the folder hold exactly {@code secrets} (name to value). Names and sizes are checked again here (the
     * control plane already bounds them): a name that is not a plain secret name could point outside the folder.
     */
    public void replaceAll(Map<String, byte[]> secrets) throws IOException {
        for (Map.Entry<String, byte[]> e : secrets.entrySet()) {
            if (!NAME.matcher(e.getKey()).matches() || e.getValue().length > MAX_VALUE_BYTES) {
                throw new IOException("the control plane released a secret with an invalid name or size; nothing "
                        + "was written");
            }
        }
        if (!Files.isDirectory(dir)) {
            try {
                Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
            } catch (UnsupportedOperationException e) {
                Files.createDirectories(dir);
            }
        }
        for (Map.Entry<String, byte[]> e : secrets.entrySet()) {
            write(e.getKey(), e.getValue());
        }
        removeAllBut(secrets.keySet());
    }

    /** Deletes every secret file (the node lost its right to them). */
    public void clear() throws IOException {
        if (Files.isDirectory(dir)) {
            removeAllBut(Set.of());
        }
    }

    private void write(String name, byte[] value) throws IOException {
        Path tmp = dir.resolve("." + name + ".tmp");
        Files.deleteIfExists(tmp);
        try {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(tmp);
        }
        Files.write(tmp, value);
        try {
            Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private void removeAllBut(Set<String> keep) throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                if (!keep.contains(f.getFileName().toString()) && Files.isRegularFile(f)) {
                    Files.delete(f);
                }
            }
        }
    }
}
