package dev.attestmesh.quote.device;

import dev.attestmesh.quote.TeeType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * Collects evidence through the Linux configfs-tsm report interface (Linux 6.7+,
 * {@code Documentation/ABI/testing/configfs-tsm-report}): creates a report entry under
 * {@code /sys/kernel/config/tsm/report/}, writes the report data to {@code inblob}, reads the evidence
 * from {@code outblob}, and removes the entry. The kernel's {@code provider} attribute names the TEE:
 * {@code tdx_guest} yields a signed TDX quote (through the QGS), {@code sev_guest} a 1184-byte SNP
 * report.
 *
 * <p>Other processes may share the interface. The {@code generation} attribute counts writes to the
 * entry's inputs: it is read before writing {@code inblob} and after reading {@code outblob}, and if
 * anything but our one write happened in between, the evidence may cover someone else's data, so the
 * exchange is retried (at most {@value #MAX_ATTEMPTS} times). Thread-safe: each call uses its own entry.
 */
public final class ConfigfsTsmCollector implements EvidenceCollector {
    /** The default report root. */
    public static final Path REPORT_ROOT = Path.of("/sys/kernel/config/tsm/report");
    static final int MAX_ATTEMPTS = 3;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path root;
    private final TsmReportFiles files;
    private final String provider;
    private final TeeType tee;
    private final OptionalInt privilegeLevel;

    private ConfigfsTsmCollector(Path root, TsmReportFiles files, String provider, TeeType tee, OptionalInt privilegeLevel) {
        this.root = root;
        this.files = files;
        this.provider = provider;
        this.tee = tee;
        this.privilegeLevel = privilegeLevel;
    }

    /**
     * Probes {@code reportRoot} (normally {@link #REPORT_ROOT}) for its provider and returns a collector.
     *
     * @param privilegeLevel for SEV-SNP, the VMPL written to {@code privlevel}; empty leaves the kernel default
     * @throws EvidenceCollectionException when the interface is absent, the entry cannot be created, or
     *     the provider is not one AttestMesh verifies
     */
    public static ConfigfsTsmCollector open(Path reportRoot, OptionalInt privilegeLevel) throws EvidenceCollectionException {
        return open(reportRoot, privilegeLevel, TsmReportFiles.system());
    }

    static ConfigfsTsmCollector open(Path reportRoot, OptionalInt privilegeLevel, TsmReportFiles files)
            throws EvidenceCollectionException {
        Objects.requireNonNull(privilegeLevel, "privilegeLevel");
        Path entry = newEntry(reportRoot, files);
        try {
            String provider = readText(files, entry.resolve("provider"));
            TeeType tee = switch (provider) {
                case "tdx_guest" -> TeeType.TDX;
                case "sev_guest" -> TeeType.SNP;
                default -> throw new EvidenceCollectionException("configfs-tsm provider '" + provider + "' at " + reportRoot
                        + " is not one AttestMesh verifies (tdx_guest, sev_guest)");
            };
            return new ConfigfsTsmCollector(reportRoot, files, provider, tee, privilegeLevel);
        } finally {
            remove(files, entry);
        }
    }

    @Override
    public TeeType tee() {
        return tee;
    }

    /** The kernel provider name, e.g. {@code tdx_guest}. */
    public String provider() {
        return provider;
    }

    @Override
    public byte[] collect(byte[] reportData) throws EvidenceCollectionException {
        if (reportData.length != 64) {
            throw new IllegalArgumentException("report data must be 64 bytes, got " + reportData.length);
        }
        Path entry = newEntry(root, files);
        try {
            String p = readText(files, entry.resolve("provider"));
            if (!p.equals(provider)) {
                throw new EvidenceCollectionException("configfs-tsm provider changed from '" + provider + "' to '" + p + "'");
            }
            if (privilegeLevel.isPresent()) {
                io(() -> files.write(entry.resolve("privlevel"),
                        Integer.toString(privilegeLevel.getAsInt()).getBytes(StandardCharsets.US_ASCII)), entry, "privlevel");
            }
            for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
                long before = generation(entry);
                io(() -> files.write(entry.resolve("inblob"), reportData), entry, "inblob");
                byte[] out = read(entry.resolve("outblob"));
                long after = generation(entry);
                if (after == before + 1) {
                    if (out.length == 0) {
                        throw new EvidenceCollectionException("configfs-tsm returned empty evidence from " + entry);
                    }
                    return out;
                }
                // Another writer touched this entry between our inblob write and outblob read.
            }
            throw new EvidenceCollectionException("configfs-tsm entry " + entry + " was written by another process during "
                    + "each of " + MAX_ATTEMPTS + " attempts (generation kept changing); retry later");
        } finally {
            remove(files, entry);
        }
    }

    private interface IoAction {
        void run() throws IOException;
    }

    private static void io(IoAction action, Path entry, String attribute) throws EvidenceCollectionException {
        try {
            action.run();
        } catch (IOException e) {
            throw new EvidenceCollectionException("cannot write " + attribute + " in " + entry + ": " + e.getMessage(), e);
        }
    }

    private byte[] read(Path file) throws EvidenceCollectionException {
        try {
            return files.read(file);
        } catch (IOException e) {
            throw new EvidenceCollectionException("cannot read " + file + " (the TEE refused or the quote service is "
                    + "unreachable): " + e.getMessage(), e);
        }
    }

    private long generation(Path entry) throws EvidenceCollectionException {
        String text = readText(files, entry.resolve("generation"));
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new EvidenceCollectionException("configfs-tsm generation '" + text + "' in " + entry + " is not a number");
        }
    }

    private static String readText(TsmReportFiles files, Path file) throws EvidenceCollectionException {
        try {
            return new String(files.read(file), StandardCharsets.US_ASCII).trim();
        } catch (IOException e) {
            throw new EvidenceCollectionException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static Path newEntry(Path root, TsmReportFiles files) throws EvidenceCollectionException {
        byte[] id = new byte[8];
        RANDOM.nextBytes(id);
        Path entry = root.resolve("attestmesh-" + ProcessHandle.current().pid() + "-" + HexFormat.of().formatHex(id));
        try {
            files.createDirectory(entry);
        } catch (IOException e) {
            throw new EvidenceCollectionException("cannot create configfs-tsm report entry " + entry + " (is configfs "
                    + "mounted at /sys/kernel/config and the kernel 6.7 or newer, and do we run as root?): " + e, e);
        }
        return entry;
    }

    private static void remove(TsmReportFiles files, Path entry) {
        try {
            files.deleteDirectory(entry);
        } catch (IOException e) {
            // A leftover entry costs a little kernel memory and does not affect later reports.
        }
    }
}
