package dev.attestmesh.admission;

import dev.attestmesh.quote.VerifiedEvidence;
import java.security.MessageDigest;

/** The one production {@link EvidenceBinding}: report data equal to the expected binding, in constant time. */
enum ReportDataEvidenceBinding implements EvidenceBinding {
    INSTANCE;

    @Override
    public boolean binds(VerifiedEvidence evidence, byte[] expectedReportData) {
        return MessageDigest.isEqual(expectedReportData, evidence.reportData());
    }

    @Override
    public String toString() {
        return "report data binds nonce and CSR key";
    }
}
