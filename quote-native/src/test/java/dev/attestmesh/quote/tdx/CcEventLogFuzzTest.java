package dev.attestmesh.quote.tdx;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.attestmesh.quote.EvidenceParseException;

/**
 * Fuzzes the CCEL table and the crypto-agile event log parser, and the replay of whatever parses:
 * only {@link EvidenceParseException} may escape. Plain {@code ./mvnw verify} replays the seeds only.
 */
class CcEventLogFuzzTest {

    @FuzzTest(maxDuration = "20s")
    void eventLogParsersThrowOnlyParseExceptions(byte[] input) {
        try {
            CcelTable.parse(input);
        } catch (EvidenceParseException expected) {
            // Reported.
        }
        try {
            CcEventLog log = CcEventLog.parse(input);
            log.replay();
            log.kernelCommandLine();
        } catch (EvidenceParseException expected) {
            // Reported.
        }
    }
}
