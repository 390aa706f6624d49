package dev.attestmesh.quote.snp;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.attestmesh.quote.trust.AmdTrustAnchors;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;

/** Reads the shared SEV-SNP vectors in place; tests skip when they are absent. */
final class SnpVectors {
    private SnpVectors() {
    }

    static Path root() {
        Path p = Path.of(System.getProperty("attestmesh.vectors", "../../shared/vectors"));
        assumeTrue(Files.isDirectory(p.resolve("snp")),
                "SEV-SNP vectors not found at " + p.toAbsolutePath() + "; set -Dattestmesh.vectors to run these tests");
        return p;
    }

    static byte[] read(String relative) {
        try {
            return Files.readAllBytes(root().resolve(relative));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static X509Certificate cert(String relative) {
        try {
            return AmdCertificateDecoder.decodeAll(read(relative)).getFirst();
        } catch (java.security.cert.CertificateException e) {
            throw new IllegalStateException(relative, e);
        }
    }

    /** Anchors from the vectors' AMD roots directory (go-sev-guest, virtee and trustee copies). */
    static AmdTrustAnchors anchors() {
        try {
            return AmdTrustAnchors.fromDirectory(root().resolve("roots/amd"));
        } catch (AmdTrustAnchors.AnchorException e) {
            throw new IllegalStateException(e);
        }
    }
}
