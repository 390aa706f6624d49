package dev.attestmesh.quote.intel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.collateral.CachingCollateralProvider;
import dev.attestmesh.quote.collateral.CollateralProvider;
import dev.attestmesh.quote.collateral.QuoteCollateral;
import dev.attestmesh.quote.collateral.QuoteCollateralJsonWriter;
import dev.attestmesh.quote.limits.FetchLimits;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The collateral floor with real Intel collateral at two TCB evaluation data numbers for one platform
 * (TDX, FMSPC 90C06F000000):
 *
 * <ul>
 *   <li>Automata's (eval 17): TCB Info issued 2025-06-05, QE Identity 2025-06-04, Platform CA CRL
 *       number 1 of 2025-06-04; with it the Alibaba v5 quote is UpToDate at 2025-06-15;
 *   <li>dcap-qvl's "outdated" fixture (eval 18): TCB Info and QE Identity issued 2026-02-18, Platform
 *       CA CRL number 1 of 2026-02-18; with it the same quote is OutOfDate (at 2026-03-01).
 * </ul>
 *
 * So a platform that kept presenting the eval-17 TCB Info after the eval-18 TCB recovery would be
 * judged UpToDate instead of OutOfDate: exactly what the floor refuses. Both Root CA CRLs are the same
 * (number 1, 2025-03-20), so no vector pair differs in Root CA CRL.
 */
class CollateralFloorTest {
    private static final Instant JUNE_2025 = Instant.parse("2025-06-15T00:00:00Z");
    private static final Instant MARCH_2026 = Instant.parse("2026-03-01T00:00:00Z");

    private static byte[] quote() {
        return IntelVectors.bytes("tdx/automata-tdx-v5/alibaba_quote_5.dat");
    }

    private static QuoteCollateral eval17() throws Exception {
        return IntelVectors.pcsCollateral("tdx/automata-tdx-v5/tcbinfov3_90C06F000000.json", "tdx/automata-tdx-v5/qe_td.json",
                "tdx/automata-tdx-v5/platformCrl_0625.der", "roots/automata/rootCrlDer.der");
    }

    private static QuoteCollateral eval18() throws Exception {
        return IntelVectors.dcapQvlCollateral("tdx/dcap-qvl-tdx-outdated/tdx_quote_outdated_collateral.json");
    }

    private static VerifiedEvidence verifySupplied(CollateralProvider provider, int minimum, QuoteCollateral supplied,
            Instant at) throws EvidenceVerificationException {
        return DcapQuoteVerifier.create(TeeType.TDX, IntelVectors.anchors(), provider,
                        DcapVerifierOptions.defaults().withMinimumTcbEvaluationDataNumber(minimum))
                .verify(new VerificationRequest(TeeType.TDX, quote(),
                        Optional.of(QuoteCollateralJsonWriter.toQuoteCollateralV3(supplied)), at));
    }

    private static EvidenceVerificationException outdated(CollateralProvider provider, int minimum,
            QuoteCollateral supplied, Instant at) {
        EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class,
                () -> verifySupplied(provider, minimum, supplied, at));
        assertEquals(VerificationCheck.COLLATERAL_OUTDATED, e.check(), e.getMessage());
        return e;
    }

    @Test
    void withoutAFloorTheOlderEvaluationNumberWouldPassAsUpToDate() throws Exception {
        // The premise: eval-17 collateral, still inside its window, gives the better verdict.
        assertEquals(TcbStatus.UP_TO_DATE, verifySupplied(CollateralProvider.none(), 0, eval17(), JUNE_2025).tcbStatus());
        assertEquals(TcbStatus.OUT_OF_DATE, verifySupplied(CollateralProvider.none(), 0, eval18(), MARCH_2026).tcbStatus());
    }

    @Test
    void refusesSuppliedTcbInfoOlderThanTheProvidersAfterATcbRecovery() throws Exception {
        var e = outdated(CollateralProvider.fixed(eval18()), 0, eval17(), JUNE_2025);
        assertEquals("supplied TCB Info tcbEvaluationDataNumber 17 is older than the provider's 18; send current "
                + "collateral, or none to have the control plane use its own", e.getMessage());
    }

    @Test
    void theFloorIsWhatACachingProviderHoldsAfterVerifyingIt() throws Exception {
        // The provider's cache lives in March 2026 (eval 18 current); the request is judged at its own time.
        CachingCollateralProvider cache = new CachingCollateralProvider(CollateralProvider.fixed(eval18()),
                IntelVectors.anchors(), CachingCollateralProvider.DEFAULT_MAX_BYTES, FetchLimits.defaults(),
                Clock.fixed(MARCH_2026, ZoneOffset.UTC), Runnable::run);
        var e = outdated(cache, 0, eval17(), JUNE_2025);
        assertEquals("supplied TCB Info tcbEvaluationDataNumber 17 is older than the provider's 18; send current "
                + "collateral, or none to have the control plane use its own", e.getMessage());
    }

    @Test
    void suppliedCollateralEqualToOrNewerThanTheProvidersPasses() throws Exception {
        assertEquals(TcbStatus.UP_TO_DATE,
                verifySupplied(CollateralProvider.fixed(eval17()), 0, eval17(), JUNE_2025).tcbStatus());
        assertEquals(TcbStatus.OUT_OF_DATE,
                verifySupplied(CollateralProvider.fixed(eval17()), 0, eval18(), MARCH_2026).tcbStatus());
    }

    @Test
    void sameEvaluationNumberButEarlierQeIdentityIssueDateIsOlder() throws Exception {
        // dcap-qvl's TDX fixture carries a TD_QE identity of the same evaluation number, issued 15 days later.
        QuoteCollateral laterQe = IntelVectors.dcapQvlCollateral("tdx/dcap-qvl-tdx/tdx_quote_collateral.json");
        QuoteCollateral a = eval17();
        var e = outdated(CollateralProvider.fixed(new QuoteCollateral(a.tcbInfo(), laterQe.qeIdentity(), a.pckCrl(),
                a.rootCaCrl())), 0, a, JUNE_2025);
        assertEquals("supplied QE Identity issueDate 2025-06-04T09:40:18Z is older than the provider's "
                + "2025-06-19T10:32:27Z (both tcbEvaluationDataNumber 17); send current collateral, or none to have "
                + "the control plane use its own", e.getMessage());
    }

    @Test
    void pckCrlOlderThanTheProvidersIsRefused() throws Exception {
        // The Platform CA's CRL as re-issued 2025-09-02 (dcap-qvl NEAR fixture): same CRL number, later thisUpdate.
        QuoteCollateral laterCrl = IntelVectors.dcapQvlCollateral("tdx/dcap-qvl-tdx-near/quote_collateral.json");
        QuoteCollateral a = eval17();
        var e = outdated(CollateralProvider.fixed(new QuoteCollateral(a.tcbInfo(), a.qeIdentity(), laterCrl.pckCrl(),
                a.rootCaCrl())), 0, a, JUNE_2025);
        assertEquals("supplied PCK CRL thisUpdate 2025-06-04T09:19:31Z is older than the provider's "
                + "2025-09-02T07:03:51Z (both CRL number 1); send current collateral, or none to have the control plane "
                + "use its own", e.getMessage());
    }

    @Test
    void onlyLikeIsComparedWithLike() throws Exception {
        // A TCB Info for another FMSPC (B0C06F000000, issued later) is no floor for this platform's.
        QuoteCollateral other = IntelVectors.dcapQvlCollateral("tdx/dcap-qvl-tdx/tdx_quote_collateral.json");
        QuoteCollateral a = eval17();
        assertEquals(TcbStatus.UP_TO_DATE, verifySupplied(CollateralProvider.fixed(new QuoteCollateral(other.tcbInfo(),
                a.qeIdentity(), a.pckCrl(), a.rootCaCrl())), 0, a, JUNE_2025).tcbStatus());
    }

    @Test
    void withNothingFromTheProviderTheMinimumEvaluationNumberIsTheFloor() throws Exception {
        var e = outdated(CollateralProvider.none(), 18, eval17(), JUNE_2025);
        assertEquals("supplied TCB Info tcbEvaluationDataNumber 17 is below the configured minimum 18; send "
                + "collateral from after that TCB recovery", e.getMessage());
        assertEquals(TcbStatus.UP_TO_DATE, verifySupplied(CollateralProvider.none(), 17, eval17(), JUNE_2025).tcbStatus());
        assertEquals(TcbStatus.OUT_OF_DATE, verifySupplied(CollateralProvider.none(), 18, eval18(), MARCH_2026).tcbStatus());
    }

    @Test
    void theMinimumAlsoAppliesToTheProvidersCollateral() throws Exception {
        DcapQuoteVerifier v = DcapQuoteVerifier.create(TeeType.TDX, IntelVectors.anchors(),
                CollateralProvider.fixed(eval17()), DcapVerifierOptions.defaults().withMinimumTcbEvaluationDataNumber(18));
        var e = assertThrows(EvidenceVerificationException.class,
                () -> v.verify(VerificationRequest.of(TeeType.TDX, quote(), JUNE_2025)));
        assertEquals(VerificationCheck.COLLATERAL_OUTDATED, e.check());
        assertEquals("the provider's TCB Info tcbEvaluationDataNumber 17 is below the configured minimum 18; the "
                + "collateral source is out of date", e.getMessage());
    }

    @Test
    void expiredSuppliedCollateralIsReportedAsExpiredBeforeTheFloorIsConsulted() throws Exception {
        CollateralProvider unreachable = new CollateralProvider() {
            @Override
            public dev.attestmesh.quote.collateral.SignedCollateral tcbInfo(TeeType tee, String fmspc) {
                throw new AssertionError("the provider must not be asked for expired collateral");
            }

            @Override
            public dev.attestmesh.quote.collateral.SignedCollateral qeIdentity(TeeType tee) {
                throw new AssertionError("the provider must not be asked for expired collateral");
            }

            @Override
            public dev.attestmesh.quote.collateral.PckCrl pckCrl(dev.attestmesh.quote.collateral.PckCa ca) {
                throw new AssertionError("the provider must not be asked for expired collateral");
            }

            @Override
            public dev.attestmesh.quote.collateral.RootCaCrl rootCaCrl() {
                throw new AssertionError("the provider must not be asked for expired collateral");
            }
        };
        var e = assertThrows(EvidenceVerificationException.class,
                () -> verifySupplied(unreachable, 0, eval17(), MARCH_2026));
        assertEquals(VerificationCheck.COLLATERAL_EXPIRED, e.check(), e.getMessage());
    }
}
