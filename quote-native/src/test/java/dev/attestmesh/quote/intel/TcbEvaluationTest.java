package dev.attestmesh.quote.intel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.collateral.CollateralJsonParser;
import dev.attestmesh.quote.collateral.QeIdentity;
import dev.attestmesh.quote.collateral.TcbInfo;
import dev.attestmesh.quote.tdx.TdxQuote;
import dev.attestmesh.quote.tdx.TdxQuoteParser;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class TcbEvaluationTest {

    @Test
    void qeOutOfDateDowngradesThePlatformStatusAsIntelQvlDoes() {
        assertEquals(TcbStatus.OUT_OF_DATE, TcbEvaluation.converge(TcbStatus.UP_TO_DATE, TcbStatus.OUT_OF_DATE));
        assertEquals(TcbStatus.OUT_OF_DATE, TcbEvaluation.converge(TcbStatus.SW_HARDENING_NEEDED, TcbStatus.OUT_OF_DATE));
        assertEquals(TcbStatus.OUT_OF_DATE_CONFIGURATION_NEEDED,
                TcbEvaluation.converge(TcbStatus.CONFIGURATION_NEEDED, TcbStatus.OUT_OF_DATE));
        assertEquals(TcbStatus.OUT_OF_DATE_CONFIGURATION_NEEDED,
                TcbEvaluation.converge(TcbStatus.CONFIGURATION_AND_SW_HARDENING_NEEDED, TcbStatus.OUT_OF_DATE));
        assertEquals(TcbStatus.REVOKED, TcbEvaluation.converge(TcbStatus.UP_TO_DATE, TcbStatus.REVOKED));
        assertEquals(TcbStatus.SW_HARDENING_NEEDED, TcbEvaluation.converge(TcbStatus.SW_HARDENING_NEEDED, TcbStatus.UP_TO_DATE));
    }

    /**
     * trustee's tdx_quote_6 has TCB Info and QE Identity but no CRLs of its time, so it cannot be
     * verified end to end; its TCB evaluation alone gives the MANIFEST's derived OutOfDate.
     */
    @Test
    void trusteeQuote6EvaluatesToOutOfDate() throws Exception {
        TdxQuote q = TdxQuoteParser.parse(IntelVectors.bytes("tdx/trustee/tdx_quote_6.dat"));
        PckCertificateChain chain = PckCertificateChain.verify(q.signatureData().certificationData(),
                IntelVectors.rootOnly(), IntelVectors.rootOnly().rootVerifyingKey());
        TcbInfo info = TcbInfo.parse(CollateralJsonParser.pcsTcbInfo(IntelVectors.bytes("tdx/trustee/tcbInfo.json"), List.of()).body());
        QeIdentity qe = QeIdentity.parse(
                CollateralJsonParser.pcsEnclaveIdentity(IntelVectors.bytes("tdx/trustee/enclaveIdentity.json"), List.of()).body());
        assertEquals(info.fmspc(), chain.extensions().fmspcHex());
        TcbEvaluation e = TcbEvaluation.evaluate(info, chain.extensions(), Optional.of(new TcbEvaluation.TdxInputs(
                q.body().teeTcbSvn(), q.body().mrSignerSeam(), q.body().seamAttributes())), qe, q.signatureData().qeReport());
        assertEquals(TcbStatus.OUT_OF_DATE, e.status());
        assertEquals(List.of(), e.advisoryIds(), "this TCB Info lists no advisories for its OutOfDate level");
    }
}
