package dev.attestmesh.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Writes the node's credentials into its output directory, each file atomically (write a temporary
 * file in the same directory, then rename), so Envoy and gRPC's {@code file_watcher} never read a
 * half-written file.
 *
 * <p>Layout: {@code key.pem} (PKCS#8, mode 0600), {@code cert-chain.pem} (leaf then intermediate),
 * {@code ca-bundle.pem} (mesh trust bundle). The key is written before the chain so a reader that
 * sees a new chain always finds its key.
 */
public final class CredentialFiles {
    public static final String KEY = "key.pem";
    public static final String CERT_CHAIN = "cert-chain.pem";
    public static final String CA_BUNDLE = "ca-bundle.pem";

    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");
    private static final Set<PosixFilePermission> WORLD_READABLE = PosixFilePermissions.fromString("rw-r--r--");

    private final Path dir;

    public CredentialFiles(Path dir) {
        this.dir = dir;
    }

    public Path directory() {
        return dir;
    }

    public Path keyFile() {
        return dir.resolve(KEY);
    }

    /** Writes key, chain and bundle. */
    public void write(String keyPem, String chainPem, String bundlePem) throws IOException {
        Files.createDirectories(dir);
        writeAtomically(KEY, keyPem, OWNER_ONLY);
        writeAtomically(CA_BUNDLE, bundlePem, WORLD_READABLE);
        writeAtomically(CERT_CHAIN, chainPem, WORLD_READABLE);
    }

    private void writeAtomically(String name, String content, Set<PosixFilePermission> perms) throws IOException {
        Path tmp = dir.resolve("." + name + ".tmp");
        Files.deleteIfExists(tmp);
        try {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(perms));
        } catch (UnsupportedOperationException e) {
            Files.createFile(tmp); // non-POSIX file system: best effort
        } catch (FileAlreadyExistsException e) {
            throw new IOException("concurrent writer in " + dir, e);
        }
        Files.writeString(tmp, content, StandardCharsets.US_ASCII);
        try {
            Files.move(tmp, dir.resolve(name), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
