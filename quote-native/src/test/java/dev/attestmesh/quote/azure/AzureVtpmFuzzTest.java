package dev.attestmesh.quote.azure;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.tpm.Tpm2Commands;
import dev.attestmesh.quote.tpm.TpmsAttest;

/**
 * Fuzzes the Azure vTPM parsers (TPMS_ATTEST, the evidence JSON, the HCL runtime claims) and the TPM
 * response unmarshalling: only {@link EvidenceParseException} (or the TPM's own error) may escape.
 * Plain {@code ./mvnw verify} replays the seed inputs only; set {@code JAZZER_FUZZ=1} to fuzz.
 */
class AzureVtpmFuzzTest {

    @FuzzTest(maxDuration = "20s")
    void tpmStructuresThrowOnlyParseExceptions(byte[] input) {
        try {
            TpmsAttest.parse(input);
        } catch (EvidenceParseException expected) {
            // Bad input is reported, nothing else.
        }
        try {
            Tpm2Commands.parseQuote(input);
        } catch (EvidenceParseException | Tpm2Commands.TpmErrorException expected) {
            // Reported.
        }
        try {
            Tpm2Commands.parsePcrRead(input);
        } catch (EvidenceParseException | Tpm2Commands.TpmErrorException expected) {
            // Reported.
        }
        try {
            Tpm2Commands.parseNvRead(input);
        } catch (EvidenceParseException | Tpm2Commands.TpmErrorException expected) {
            // Reported.
        }
        try {
            Tpm2Commands.parseNvReadPublicSize(input, 0x01400001);
        } catch (EvidenceParseException | Tpm2Commands.TpmErrorException expected) {
            // Reported.
        }
    }

    @FuzzTest(maxDuration = "20s")
    void jsonDocumentsThrowOnlyParseExceptions(FuzzedDataProvider data) {
        byte[] a = data.consumeBytes(data.consumeInt(0, 4096));
        try {
            AzureVtpmEvidence.parse(a);
        } catch (EvidenceParseException expected) {
            // Reported.
        }
        try {
            HclRuntimeClaims.parse(data.consumeRemainingAsBytes());
        } catch (EvidenceParseException expected) {
            // Reported.
        }
    }
}
