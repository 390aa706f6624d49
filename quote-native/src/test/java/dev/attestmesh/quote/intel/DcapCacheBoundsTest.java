package dev.attestmesh.quote.intel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.collateral.CollateralProvider;
import dev.attestmesh.quote.collateral.CollateralUnavailableException;
import dev.attestmesh.quote.collateral.PckCa;
import dev.attestmesh.quote.collateral.PckCrl;
import dev.attestmesh.quote.collateral.QuoteCollateral;
import dev.attestmesh.quote.collateral.QuoteCollateralJsonWriter;
import dev.attestmesh.quote.collateral.RootCaCrl;
import dev.attestmesh.quote.collateral.SignedCollateral;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The DCAP verifier's caches hold only what verified and stay under their byte bound, whatever a
 * flood of requests carries.
 */
class DcapCacheBoundsTest {
    private static final Instant AT = Instant.parse("2025-06-15T00:00:00Z");

    private static byte[] quote() {
        return IntelVectors.bytes("tdx/automata-tdx-v5/alibaba_quote_5.dat");
    }

    private static QuoteCollateral genuine() throws Exception {
        return IntelVectors.pcsCollateral("tdx/automata-tdx-v5/tcbinfov3_90C06F000000.json", "tdx/automata-tdx-v5/qe_td.json",
                "tdx/automata-tdx-v5/platformCrl_0625.der", "roots/automata/rootCrlDer.der");
    }

    /** A provider that counts every request (a stand-in for PCS fetches) and has nothing. */
    private static final class CountingEmptyProvider implements CollateralProvider {
        final AtomicInteger calls = new AtomicInteger();

        private CollateralUnavailableException none() {
            calls.incrementAndGet();
            return new CollateralUnavailableException("nothing here");
        }

        @Override
        public SignedCollateral tcbInfo(TeeType tee, String fmspc) throws CollateralUnavailableException {
            throw none();
        }

        @Override
        public SignedCollateral qeIdentity(TeeType tee) throws CollateralUnavailableException {
            throw none();
        }

        @Override
        public PckCrl pckCrl(PckCa ca) throws CollateralUnavailableException {
            throw none();
        }

        @Override
        public RootCaCrl rootCaCrl() throws CollateralUnavailableException {
            throw none();
        }
    }

    /**
     * 5,000 distinct supplied collateral documents whose TCB Info signature is forged (each a different
     * signature): every one is refused, none is kept, and none makes the verifier ask its provider.
     */
    @Test
    void floodOfDistinctForgedCollateralLeavesTheCachesAsTheGenuineQuoteLeftThem() throws Exception {
        QuoteCollateral good = genuine();
        CountingEmptyProvider provider = new CountingEmptyProvider();
        DcapQuoteVerifier v = DcapQuoteVerifier.create(TeeType.TDX, IntelVectors.anchors(), provider);
        byte[] quote = quote();
        long baseline = -1;
        for (int i = 0; i < 5_000; i++) {
            byte[] sig = good.tcbInfo().signature();
            sig[0] = (byte) i;
            sig[1] = (byte) (i >> 8);
            sig[63] ^= 0x5a;
            QuoteCollateral forged = new QuoteCollateral(new SignedCollateral(good.tcbInfo().body(), sig, java.util.List.of()),
                    good.qeIdentity(), good.pckCrl(), good.rootCaCrl());
            byte[] json = QuoteCollateralJsonWriter.toQuoteCollateralV3(forged);
            var e = assertThrows(EvidenceVerificationException.class,
                    () -> v.verify(new VerificationRequest(TeeType.TDX, quote, Optional.of(json), AT)));
            assertEquals(VerificationCheck.TCB_INFO_SIGNATURE, e.check(), e.getMessage());
            if (i == 0) {
                // The quote's own attestation key and PCK chain did verify and are kept; nothing else.
                baseline = v.cachedBytes();
                assertTrue(baseline > 0);
            }
        }
        assertEquals(baseline, v.cachedBytes(), "no forged collateral was kept");
        assertEquals(0, provider.calls.get(), "forged collateral never makes the verifier ask the provider");
        // The genuine collateral is kept once it verified and passed the floor.
        assertEquals(TcbStatus.UP_TO_DATE, v.verify(new VerificationRequest(TeeType.TDX, quote,
                Optional.of(QuoteCollateralJsonWriter.toQuoteCollateralV3(good)), AT)).tcbStatus());
        assertTrue(v.cachedBytes() > baseline);
    }

    /**
     * Genuine collateral in 300 distinct encodings (leading whitespace): each verifies and is cached,
     * and the caches never exceed the configured bound.
     */
    @Test
    void genuineCollateralInManyEncodingsStaysUnderTheByteBound() throws Exception {
        long bound = 1L << 20;
        DcapQuoteVerifier v = DcapQuoteVerifier.create(TeeType.TDX, IntelVectors.anchors(), CollateralProvider.none(),
                new DcapVerifierOptions(0, bound));
        byte[] json = QuoteCollateralJsonWriter.toQuoteCollateralV3(genuine());
        byte[] quote = quote();
        for (int i = 0; i < 300; i++) {
            byte[] variant = (" ".repeat(i) + new String(json, StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8);
            assertEquals(TcbStatus.UP_TO_DATE,
                    v.verify(new VerificationRequest(TeeType.TDX, quote, Optional.of(variant), AT)).tcbStatus());
            assertTrue(v.cachedBytes() <= bound, v.cachedBytes() + " > " + bound);
        }
        // What verified was far more than the bound (each entry weighs about three times its JSON), so the
        // bound held by evicting, not because little was offered.
        assertTrue(300L * 3 * json.length > bound);
        assertTrue(v.cachedBytes() > bound / 4, "the caches were filled up to their shares: " + v.cachedBytes());
    }
}
