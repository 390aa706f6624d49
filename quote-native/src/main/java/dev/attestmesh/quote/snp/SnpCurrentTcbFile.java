package dev.attestmesh.quote.snp;

import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.collateral.CollateralChange;
import dev.attestmesh.quote.collateral.CollateralChanges;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator's statement of AMD's current TCB ({@link SnpCurrentTcb}) read from a file and read again
 * on every collateral refresh, so raising it after an AMD security bulletin re-judges the SNP nodes at
 * once instead of at their next attestation. A changed statement is announced on the {@link
 * CollateralChanges} hub (for every SEV-SNP and Azure SNP vTPM node: the statement is per product, and
 * re-judging a node of another product changes nothing). A file that became unreadable or invalid keeps
 * the statement last read (logged): an operator's typo must not silently lower the bar. Thread-safe.
 */
public final class SnpCurrentTcbFile implements Supplier<Map<SnpProduct, SnpTcb>> {
    private static final Logger LOG = LoggerFactory.getLogger(SnpCurrentTcbFile.class);
    private final Path file;
    private final Optional<CollateralChanges> changes;
    private volatile Map<SnpProduct, SnpTcb> current;

    private SnpCurrentTcbFile(Path file, Map<SnpProduct, SnpTcb> current, Optional<CollateralChanges> changes) {
        this.file = file;
        this.current = Map.copyOf(current);
        this.changes = changes;
    }

    /**
     * Reads {@code file} now and, with a hub, registers {@link #refresh()} there.
     *
     * @throws IOException when the file cannot be read
     * @throws IllegalArgumentException naming the product and field that is wrong
     */
    public static SnpCurrentTcbFile load(Path file, Optional<CollateralChanges> changes) throws IOException {
        Objects.requireNonNull(changes, "changes");
        SnpCurrentTcbFile f = new SnpCurrentTcbFile(file, read(file), changes);
        changes.ifPresent(c -> c.addRefresher(f::refresh));
        return f;
    }

    private static Map<SnpProduct, SnpTcb> read(Path file) throws IOException {
        if (Files.size(file) > SnpCurrentTcb.MAX_BYTES) {
            throw new IllegalArgumentException(file + ": larger than " + SnpCurrentTcb.MAX_BYTES + " bytes");
        }
        return SnpCurrentTcb.parse(Files.readAllBytes(file), file.toString());
    }

    @Override
    public Map<SnpProduct, SnpTcb> get() {
        return current;
    }

    /**
     * Reads the file again; when the statement changed for any product, takes it and announces the change.
     *
     * @return whether the statement changed
     */
    public boolean refresh() {
        Map<SnpProduct, SnpTcb> next;
        try {
            next = read(file);
        } catch (IOException | IllegalArgumentException e) {
            LOG.warn("keeping the SNP current TCB last read: cannot read {} again: {}", file, e.getMessage());
            return false;
        }
        Map<SnpProduct, SnpTcb> before = current;
        if (next.equals(before)) {
            return false;
        }
        Set<String> products = new TreeSet<>();
        for (SnpProduct p : SnpProduct.values()) {
            if (!Objects.equals(before.get(p), next.get(p))) {
                products.add(p.kdsName());
            }
        }
        current = Map.copyOf(next);
        changes.ifPresent(c -> c.publish(new CollateralChange("SNP current TCB for " + String.join(", ", products),
                Set.of(TeeType.SNP, TeeType.AZ_SNP_VTPM), Optional.empty())));
        return true;
    }
}
