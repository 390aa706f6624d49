package dev.attestmesh.cli;

import dev.attestmesh.sealing.SealedFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code attestmesh unseal --secrets-dir DIR --in F.sealed --out F}: opens a sealed file on an attested node with the
 * sealing key the node agent received ({@code <output-dir>/secrets/sealing-<keyId>}). A node that does not satisfy
 * the file's policy never received that key, and is told so.
 */
@Command(name = "unseal", mixinStandardHelpOptions = true,
        description = "Open a file sealed to a policy, with the key the node agent received for it.")
final class UnsealCommand implements Callable<Integer> {
    @Option(names = "--secrets-dir", required = true, paramLabel = "DIR",
            description = "The agent's secrets folder (<output-dir>/secrets).")
    Path secretsDir;
    @Option(names = "--in", required = true, paramLabel = "FILE")
    Path in;
    @Option(names = "--out", required = true, paramLabel = "FILE", description = "Written with mode 0600.")
    Path out;
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        byte[] sealed = SealCommand.readBounded(in, SealedFile.MAX_PLAINTEXT_BYTES + 4096);
        SealedFile.Header h = SealedFile.header(sealed);
        Path keyFile = secretsDir.resolve("sealing-" + h.keyId()); // key id is 16 hex digits: checked by header()
        if (!Files.isRegularFile(keyFile)) {
            throw new IllegalArgumentException("this node holds no key " + h.keyId() + " of policy '" + h.policyId()
                    + "' in " + secretsDir + ": it does not satisfy the policy now, or the key was retired");
        }
        byte[] plain = SealedFile.open(sealed, SealCommand.readBounded(keyFile, 64));
        Path tmp = out.resolveSibling("." + out.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(tmp, plain);
        Files.move(tmp, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        spec.commandLine().getOut().printf("opened %s (policy '%s', key %s): %s%n", in, h.policyId(), h.keyId(), out);
        return 0;
    }
}
