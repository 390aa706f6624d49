package dev.attestmesh.quote.azure;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.attestmesh.quote.snp.SnpReportVerifier;
import dev.attestmesh.quote.snp.VcekProvider;
import dev.attestmesh.quote.trust.AmdTrustAnchors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Reads the shared Azure vectors in place; tests skip when they are absent. */
final class AzureVectors {
    static final String GENOA = "snp/trustee-azure-genoa/evidence-genoa.json";

    private AzureVectors() {
    }

    static Path root() {
        Path p = Path.of(System.getProperty("attestmesh.vectors", "../../shared/vectors"));
        assumeTrue(Files.isDirectory(p.resolve("snp/trustee-azure-genoa")),
                "Azure vectors not found at " + p.toAbsolutePath() + "; set -Dattestmesh.vectors to run these tests");
        return p;
    }

    static byte[] read(String relative) {
        try {
            return Files.readAllBytes(root().resolve(relative));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static AzureVtpmVerifier verifier() {
        try {
            return AzureVtpmVerifier.create(SnpReportVerifier.create(
                    AmdTrustAnchors.fromDirectory(root().resolve("roots/amd")), VcekProvider.none()));
        } catch (AmdTrustAnchors.AnchorException e) {
            throw new IllegalStateException(e);
        }
    }
}
