package dev.attestmesh.quote.snp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.limits.FetchLimits;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Floods of bogus SEV-SNP reports and collateral: the KDS stand-in is asked at most the fetch budget,
 * and the verifier keeps only certificates whose chain verified for the report's chip and TCB.
 */
class SnpCacheBoundsTest {
    private static final Instant AT = Instant.parse("2025-06-01T00:00:00Z");
    private static final int FLOOD = 5_000;
    private static final FetchLimits LIMITS = new FetchLimits(1, 10, Duration.ofSeconds(30));

    private static byte[] report() {
        return SnpVectors.read("snp/go-sev-guest-milan/attestation.bin");
    }

    /** The genuine report with CHIP_ID (0x1A0, 64 bytes) replaced: a distinct chip per {@code i}, signature broken. */
    private static byte[] withChip(byte[] report, int i) {
        byte[] r = report.clone();
        for (int b = 0; b < 4; b++) {
            r[0x1A0 + b] = (byte) (i >> (8 * b));
        }
        r[0x1A0 + 4] ^= 0x77;
        return r;
    }

    /** Counts calls; answers each with {@code answer} (null: "no such VCEK"). */
    private static final class FakeKds implements VcekProvider {
        final AtomicInteger calls = new AtomicInteger();
        final byte[] answer;

        FakeKds(byte[] answer) {
            this.answer = answer;
        }

        @Override
        public byte[] fetch(VcekRequest request) throws VcekUnavailableException {
            calls.incrementAndGet();
            if (answer == null) {
                throw new VcekUnavailableException("AMD KDS has no VCEK for this chip and TCB");
            }
            return answer.clone();
        }
    }

    @Test
    void floodOfReportsNamingUnknownChipsCausesAtMostTheBudgetOfFetchesAndKeepsNothing() {
        FakeKds kds = new FakeKds(null);
        SnpReportVerifier v = SnpReportVerifier.create(SnpVectors.anchors(),
                RateLimitedVcekProvider.create(kds, LIMITS, () -> 0L));
        byte[] genuine = report();
        for (int i = 0; i < FLOOD; i++) {
            byte[] bogus = withChip(genuine, i);
            var e = assertThrows(EvidenceVerificationException.class,
                    () -> v.verify(VerificationRequest.of(TeeType.SNP, bogus, AT)));
            assertEquals(VerificationCheck.COLLATERAL_UNAVAILABLE, e.check(), e.getMessage());
        }
        assertEquals(LIMITS.burst(), kds.calls.get(), "the clock stands still: the burst and not one fetch more");
        assertEquals(0, v.cachedBytes());
    }

    @Test
    void aGenuineButForeignVcekFromTheSourceIsNeverKept() {
        // A source answering every chip with a real Milan VCEK of another chip (virtee's).
        FakeKds kds = new FakeKds(SnpVectors.read("snp/virtee-sev-milan/vcek_milan.der"));
        SnpReportVerifier v = SnpReportVerifier.create(SnpVectors.anchors(),
                RateLimitedVcekProvider.create(kds, LIMITS, () -> 0L));
        byte[] genuine = report();
        int mismatched = 0;
        for (int i = 0; i < FLOOD; i++) {
            byte[] bogus = withChip(genuine, i);
            var e = assertThrows(EvidenceVerificationException.class,
                    () -> v.verify(VerificationRequest.of(TeeType.SNP, bogus, AT)));
            if (e.check() == VerificationCheck.VCEK_TCB) {
                mismatched++;
            } else {
                assertEquals(VerificationCheck.COLLATERAL_UNAVAILABLE, e.check(), e.getMessage());
            }
        }
        assertEquals(LIMITS.burst(), kds.calls.get());
        assertEquals(LIMITS.burst(), mismatched, "every fetched VCEK was checked and refused for the wrong chip");
        // Only the verified links VCEK -> ASK -> ARK are remembered (two short fingerprint pairs).
        assertTrue(v.cachedBytes() > 0 && v.cachedBytes() < 2_048, v.cachedBytes() + " bytes");
    }

    @Test
    void floodOfDistinctSuppliedCertificatesForAnotherChipKeepsNothingAndFetchesNothing() {
        FakeKds kds = new FakeKds(null);
        SnpReportVerifier v = SnpReportVerifier.create(SnpVectors.anchors(),
                RateLimitedVcekProvider.create(kds, LIMITS, () -> 0L));
        String pem = "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder().encodeToString(
                SnpVectors.read("snp/virtee-sev-milan/vcek_milan.der")) + "\n-----END CERTIFICATE-----\n";
        byte[] genuine = report();
        long links = -1;
        for (int i = 0; i < FLOOD; i++) {
            byte[] collateral = ("# " + i + "\n" + pem).getBytes(StandardCharsets.US_ASCII); // distinct bytes each time
            var e = assertThrows(EvidenceVerificationException.class, () -> v.verify(
                    new VerificationRequest(TeeType.SNP, genuine, Optional.of(collateral), AT)));
            assertEquals(VerificationCheck.VCEK_TCB, e.check(), e.getMessage());
            if (i == 0) {
                links = v.cachedBytes();
            }
        }
        assertEquals(links, v.cachedBytes(), "nothing but the two verified chain links");
        assertEquals(0, kds.calls.get(), "supplied collateral never causes a fetch");
    }

    @Test
    void aReportWithAnOutOfRangeSignatureFetchesNothing() {
        FakeKds kds = new FakeKds(SnpVectors.read("snp/go-sev-guest-milan/vcek.testcer"));
        SnpReportVerifier v = SnpReportVerifier.create(SnpVectors.anchors(), kds);
        byte[] r = report();
        java.util.Arrays.fill(r, 0x2A0, 0x2A0 + 72, (byte) 0); // signature R = 0
        var e = assertThrows(EvidenceVerificationException.class, () -> v.verify(VerificationRequest.of(TeeType.SNP, r, AT)));
        assertEquals(VerificationCheck.QUOTE_SIGNATURE, e.check());
        assertEquals(0, kds.calls.get());
    }

    @Test
    void aVerifiedVcekIsKeptSoTheSourceIsAskedOnce() throws Exception {
        FakeKds kds = new FakeKds(SnpVectors.read("snp/go-sev-guest-milan/vcek.testcer"));
        SnpReportVerifier v = SnpReportVerifier.create(SnpVectors.anchors(), RateLimitedVcekProvider.create(kds));
        byte[] report = report();
        v.verify(VerificationRequest.of(TeeType.SNP, report, AT));
        v.verify(VerificationRequest.of(TeeType.SNP, report, AT));
        assertEquals(1, kds.calls.get());
        assertTrue(v.cachedBytes() > 1_360, v.cachedBytes() + " bytes: at least the VCEK itself");
    }

    @Test
    void verifiedCertificatesNeverExceedTheByteBound() throws Exception {
        long bound = 1L << 20;
        SnpReportVerifier v = SnpReportVerifier.create(SnpVectors.anchors(), VcekProvider.none(),
                SnpVerifierOptions.none(), bound);
        String pem = "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder().encodeToString(
                SnpVectors.read("snp/go-sev-guest-milan/vcek.testcer")) + "\n-----END CERTIFICATE-----\n";
        byte[] report = report();
        for (int i = 0; i < 500; i++) {
            byte[] collateral = ("# " + i + "\n" + pem).getBytes(StandardCharsets.US_ASCII);
            v.verify(new VerificationRequest(TeeType.SNP, report, Optional.of(collateral), AT));
            assertTrue(v.cachedBytes() <= bound, v.cachedBytes() + " > " + bound);
        }
        // 500 distinct verified blobs weigh about four times their size each: far more than the bound.
        assertTrue(500L * 4 * pem.length() > bound);
        assertTrue(v.cachedBytes() > bound / 2, "filled up to the bound, evicting: " + v.cachedBytes());
    }
}
