package dev.attestmesh.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.EvidenceVerifiers;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.intel.DcapVerifierOptions;
import dev.attestmesh.quote.limits.FetchLimits;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The control plane's collateral settings reach the DCAP verifier it builds. */
class EvidenceVerifierSetCollateralTest {
    /** dcap-qvl's SGX quote and collateral (tcbEvaluationDataNumber 17), at the source's stated time. */
    private static final Instant AT = Instant.ofEpochSecond(1752919277);

    private static Path vectors() {
        Path d = Path.of(System.getProperty("attestmesh.vectors", "../shared/vectors"));
        if (!Files.isDirectory(d)) {
            d = Path.of("/work/shared/vectors");
        }
        assumeTrue(Files.isDirectory(d.resolve("sgx")), "vectors not found at " + d + "; skipping");
        return d;
    }

    private static EvidenceVerifiers verifiers(Path v, int minimum) {
        // PCS on a closed loopback port: the provider has nothing, so the minimum is the whole floor.
        EvidenceVerifierSet.Sources sources = new EvidenceVerifierSet.Sources(
                Optional.of(v.resolve("roots/dcap-qvl_TrustedRootCA.der")), Optional.empty(),
                URI.create("http://127.0.0.1:1"), Optional.empty(), URI.create("http://127.0.0.1:1"));
        return EvidenceVerifierSet.from(sources, new EvidenceVerifierSet.CollateralSettings(minimum, 8L << 20,
                new FetchLimits(5, 20, Duration.ofSeconds(30))));
    }

    private static VerificationRequest request(Path v) throws Exception {
        return new VerificationRequest(TeeType.SGX, Files.readAllBytes(v.resolve("sgx/dcap-qvl-sgx/sgx_quote")),
                Optional.of(Files.readAllBytes(v.resolve("sgx/dcap-qvl-sgx/sgx_quote_collateral.json"))), AT);
    }

    @Test
    void configuredMinimumAboveTheSuppliedEvaluationNumberRefusesAndEqualPasses() throws Exception {
        Path v = vectors();
        var e = assertThrows(EvidenceVerificationException.class, () -> verifiers(v, 18).verify(request(v)));
        assertEquals(VerificationCheck.COLLATERAL_OUTDATED, e.check());
        assertTrue(e.getMessage().startsWith("supplied TCB Info tcbEvaluationDataNumber 17 is below the configured minimum 18"),
                e.getMessage());
        assertEquals(TcbStatus.CONFIGURATION_AND_SW_HARDENING_NEEDED, verifiers(v, 17).verify(request(v)).tcbStatus());
    }

    @Test
    void defaultsAreTheDocumentedOnes() {
        EvidenceVerifierSet.CollateralSettings d = EvidenceVerifierSet.CollateralSettings.defaults();
        assertEquals(17, d.minimumTcbEvaluationDataNumber());
        assertEquals(64L << 20, d.cacheMaxBytes());
        assertEquals(FetchLimits.defaults(), d.fetchLimits());
        assertEquals(DcapVerifierOptions.RECOMMENDED_MINIMUM_TCB_EVALUATION_DATA_NUMBER, d.minimumTcbEvaluationDataNumber());
    }

    @Test
    void outOfRangeSettingsAreRefusedNamingTheLimit() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> new EvidenceVerifierSet.CollateralSettings(-1, 64L << 20, FetchLimits.defaults()));
        assertTrue(e.getMessage().contains("minimum TCB evaluation data number must be 0 to 10000"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new FetchLimits(0, 20, Duration.ofSeconds(30)));
        assertTrue(e.getMessage().contains("fetch rate"), e.getMessage());
    }
}
