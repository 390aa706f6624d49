package dev.attestmesh.quote.device;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Emulates the kernel's configfs-tsm report entries over a temporary directory: mkdir populates
 * {@code provider} and {@code generation}; each write to {@code inblob} or {@code privlevel} bumps
 * {@code generation}; reading {@code outblob} yields "evidence" = provider tag + current inblob. A
 * configurable number of outblob reads are preceded by another process writing its own inblob, as a
 * racing writer would.
 */
final class FakeConfigfsTsmKernel implements TsmReportFiles {
    static final byte[] OTHER_PROCESS_DATA = "someone else's report data......".repeat(2).getBytes(StandardCharsets.US_ASCII);
    private final String provider;
    int interferingWrites;
    int outblobReads;
    int entriesCreated;

    FakeConfigfsTsmKernel(String provider, int interferingWrites) {
        this.provider = provider;
        this.interferingWrites = interferingWrites;
    }

    static byte[] evidenceFor(String provider, byte[] inblob) {
        byte[] tag = (provider + ":").getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[tag.length + inblob.length];
        System.arraycopy(tag, 0, out, 0, tag.length);
        System.arraycopy(inblob, 0, out, tag.length, inblob.length);
        return out;
    }

    @Override
    public void createDirectory(Path dir) throws IOException {
        if (!Files.isDirectory(dir.getParent())) {
            throw new NoSuchFileException(dir.getParent().toString());
        }
        Files.createDirectory(dir);
        Files.writeString(dir.resolve("provider"), provider + "\n");
        Files.writeString(dir.resolve("generation"), "0\n");
        entriesCreated++;
    }

    @Override
    public void write(Path file, byte[] data) throws IOException {
        String name = file.getFileName().toString();
        if (!name.equals("inblob") && !name.equals("privlevel")) {
            throw new IOException("Permission denied: " + name + " is read-only");
        }
        Files.write(file, data);
        bump(file.getParent());
    }

    @Override
    public byte[] read(Path file) throws IOException {
        String name = file.getFileName().toString();
        if (name.equals("inblob") || name.equals("privlevel")) {
            throw new IOException("Permission denied: " + name + " is write-only");
        }
        if (name.equals("outblob")) {
            outblobReads++;
            Path dir = file.getParent();
            if (interferingWrites > 0) {
                interferingWrites--;
                Files.write(dir.resolve("inblob"), OTHER_PROCESS_DATA);
                bump(dir);
            }
            return evidenceFor(provider, Files.readAllBytes(dir.resolve("inblob")));
        }
        return Files.readAllBytes(file);
    }

    @Override
    public void deleteDirectory(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static void bump(Path dir) throws IOException {
        long g = Long.parseLong(Files.readString(dir.resolve("generation")).trim());
        Files.writeString(dir.resolve("generation"), (g + 1) + "\n");
    }
}
