package dev.attestmesh.quote.sim;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.attestmesh.quote.EvidenceParseException;

/**
 * Fuzzes the simulated-evidence parser: only {@link EvidenceParseException} may escape. Plain
 * {@code ./mvnw verify} replays the seed inputs only; set {@code JAZZER_FUZZ=1} to fuzz.
 */
class SimulatedEvidenceFuzzTest {

    @FuzzTest(maxDuration = "20s")
    void parseThrowsOnlyParseExceptions(byte[] input) {
        try {
            SimulatedEvidence.parse(input);
        } catch (EvidenceParseException expected) {
            // Bad input is reported, nothing else.
        }
    }
}
