package dev.attestmesh.quote.collateral;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.util.List;

/**
 * Jazzer fuzz target for the collateral JSON readers (dcap-qvl bundle, PCS responses, TCB Info and
 * QE Identity bodies): only {@link CollateralParseException} may escape. {@code JAZZER_FUZZ=1}
 * turns on real fuzzing; otherwise the regression inputs in {@code
 * src/test/resources/dev/attestmesh/quote/collateral/CollateralJsonFuzzTestInputs} run.
 */
class CollateralJsonFuzzTest {

    @FuzzTest(maxDuration = "20s")
    void parsersThrowOnlyCollateralParseException(byte[] input) {
        try {
            CollateralJsonParser.quoteCollateralV3(input);
        } catch (CollateralParseException expected) {
            // permitted
        }
        try {
            SignedCollateral c = CollateralJsonParser.pcsTcbInfo(input, List.of());
            TcbInfo.parse(c.body());
        } catch (CollateralParseException expected) {
            // permitted
        }
        try {
            SignedCollateral c = CollateralJsonParser.pcsEnclaveIdentity(input, List.of());
            QeIdentity.parse(c.body());
        } catch (CollateralParseException expected) {
            // permitted
        }
        try {
            TcbInfo.parse(input);
        } catch (CollateralParseException expected) {
            // permitted
        }
        try {
            CollateralEncodings.pemCertificateBlocks(input);
        } catch (CollateralParseException expected) {
            // permitted
        }
    }
}
