package dev.attestmesh.server.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerifiedEvidence;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class VerifiedEvidenceJsonTest {
    private static final String PPID = "sgx-ppid:d04ec06d4e6d92dc90d0ad3cf5ee2ddf";

    private static VerifiedEvidence evidence(Optional<String> platformId) {
        return new VerifiedEvidence(TeeType.TDX, TcbStatus.OUT_OF_DATE, List.of("INTEL-SA-00960"), false, false,
                new byte[64], Map.of("mrtd", "91".repeat(48)), Map.of("pcesvn", 11L), new byte[32],
                Optional.of("b0c06f000000"), platformId);
    }

    @Test
    void roundTripsTheReappraisalInputsAndReadsOldRowsWithoutThem() throws IOException {
        var inputs = new dev.attestmesh.quote.ReappraisalInputs(dev.attestmesh.quote.ReappraisalInputs.INTEL_DCAP,
                Map.of("pck_chain", "3082", "qe_report", "00ff"));
        VerifiedEvidence base = evidence(Optional.of(PPID));
        VerifiedEvidence e = new VerifiedEvidence(base.tee(), base.tcbStatus(), base.advisoryIds(), base.debug(),
                base.insecure(), base.reportData(), base.measurements(), base.numbers(), base.evidenceSha256(),
                base.fmspcOrChip(), base.platformId(), Optional.of(inputs));
        VerifiedEvidence back = VerifiedEvidenceJson.decode(VerifiedEvidenceJson.encode(e));
        assertEquals(e, back);
        assertEquals(Optional.of(inputs), back.reappraisalInputs());
        assertEquals(Optional.empty(), VerifiedEvidenceJson.decode(VerifiedEvidenceJson.encode(base)).reappraisalInputs());
    }

    @Test
    void storedReappraisalInputsThatAreNotHexAreRefused() {
        String good = VerifiedEvidenceJson.encode(evidence(Optional.empty()));
        String json = good.substring(0, good.length() - 1)
                + ",\"reappraisal\":{\"scheme\":\"intel-dcap\",\"fields\":{\"pck_chain\":\"zz\"}}}";
        org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> VerifiedEvidenceJson.decode(json));
    }

    @Test
    void roundTripsThePlatformId() throws IOException {
        VerifiedEvidence e = evidence(Optional.of(PPID));
        String json = VerifiedEvidenceJson.encode(e);
        VerifiedEvidence back = VerifiedEvidenceJson.decode(json);
        assertEquals(e, back);
        assertEquals(Optional.of(PPID), back.platformId());
    }

    @Test
    void roundTripsEvidenceWithoutAPlatformId() throws IOException {
        String json = VerifiedEvidenceJson.encode(evidence(Optional.empty()));
        assertFalse(json.contains("platformId"), json);
        assertEquals(Optional.empty(), VerifiedEvidenceJson.decode(json).platformId());
    }

    @Test
    void readsARowWrittenBeforePlatformIdsExisted() throws IOException {
        // Exactly what encode wrote before the platformId field was added.
        String old = "{\"v\":1,\"tee\":\"sim\",\"tcbStatus\":\"UpToDate\",\"debug\":false,\"insecure\":true,"
                + "\"reportData\":\"" + "07".repeat(64) + "\",\"measurements\":{\"measurement\":\"" + "a1".repeat(48)
                + "\"},\"numbers\":{\"issued_at\":1700000000},\"evidenceSha256\":\"" + "ab".repeat(32) + "\"}";
        VerifiedEvidence e = VerifiedEvidenceJson.decode(old);
        assertEquals(TeeType.SIM, e.tee());
        assertEquals("a1".repeat(48), e.primaryMeasurement());
        assertEquals(Optional.empty(), e.fmspcOrChip());
        assertEquals(Optional.empty(), e.platformId());
    }

    @Test
    void aMalformedStoredPlatformIdIsAnIoError() {
        String json = VerifiedEvidenceJson.encode(evidence(Optional.of(PPID))).replace(PPID, "sgx-ppid:xyz");
        assertThrows(IOException.class, () -> VerifiedEvidenceJson.decode(json));
    }
}
