package dev.attestmesh.quote.snp;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * AMD CRLs from a directory, for control planes without access to KDS: {@code crl-<Product>.der} (or
 * {@code .pem}) for the VCEK chain and {@code crl-vlek-<Product>.der} for the VLEK chain, e.g. {@code
 * crl-Milan.der}, as downloaded from {@code https://kdsintf.amd.com/vcek/v1/Milan/crl}. A missing file
 * is an unavailable CRL (fail closed); files larger than {@link AmdCrl#MAX_BYTES} are refused.
 */
public final class FileAmdCrlProvider implements AmdCrlProvider {
    private final Path dir;

    public FileAmdCrlProvider(Path dir) {
        this.dir = Objects.requireNonNull(dir, "dir");
    }

    /** The file name this provider reads for {@code product} and {@code keyType}, without extension. */
    static String baseName(SnpProduct product, SnpSigningKey keyType) {
        return (keyType == SnpSigningKey.VLEK ? "crl-vlek-" : "crl-") + product.kdsName();
    }

    @Override
    public Optional<byte[]> crl(SnpProduct product, SnpSigningKey keyType) throws VcekUnavailableException {
        String base = baseName(product, keyType);
        for (String ext : new String[] {".der", ".pem", ".crl"}) {
            Path p = dir.resolve(base + ext);
            if (Files.isRegularFile(p)) {
                try {
                    if (Files.size(p) > AmdCrl.MAX_BYTES) {
                        throw new VcekUnavailableException(p + " is larger than " + AmdCrl.MAX_BYTES + " bytes");
                    }
                    return Optional.of(Files.readAllBytes(p));
                } catch (IOException e) {
                    throw new VcekUnavailableException("cannot read " + p + ": " + e.getMessage(), e);
                }
            }
        }
        throw new VcekUnavailableException("no AMD CRL " + dir.resolve(base + ".der") + "; download it from AMD KDS ("
                + "/" + (keyType == SnpSigningKey.VLEK ? "vlek" : "vcek") + "/v1/" + product.kdsName() + "/crl)");
    }
}
