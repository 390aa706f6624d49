package dev.attestmesh.quote.snp;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.attestmesh.quote.EvidenceVerificationException;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.time.Instant;
import java.util.List;
import javax.security.auth.x500.X500Principal;

/** Fuzzes AMD CRL parsing and checking: only {@link EvidenceVerificationException} may escape. */
class AmdCrlFuzzTest {
    private static final PublicKey KEY = key();

    private static PublicKey key() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            return g.generateKeyPair().getPublic();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @FuzzTest(maxDuration = "20s")
    void crlsThrowOnlyVerificationExceptions(byte[] input) {
        try {
            AmdCrl.check(AmdCrl.parse(input), new X500Principal("CN=ARK-Milan"), KEY, List.of(), Instant.EPOCH);
        } catch (EvidenceVerificationException expected) {
            // Every rejection names a check.
        }
    }
}
