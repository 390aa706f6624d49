package dev.attestmesh.server;

import dev.attestmesh.admission.EvidenceBinding;
import dev.attestmesh.quote.VerifiedEvidence;
import java.security.MessageDigest;

/**
 * Test scope only: the binding check replaced for one recorded hardware evidence file, which was produced
 * long before this test's nonce existed and so cannot bind it. It holds for that exact evidence (by its
 * SHA-256) and for nothing else, so any other evidence still fails the binding stage. Reaches a control
 * plane only through the package-private {@code ControlPlane.startWithEvidenceBinding}.
 */
final class RecordedEvidenceBinding implements EvidenceBinding {
    private final byte[] evidenceSha256;

    RecordedEvidenceBinding(byte[] evidenceSha256) {
        if (evidenceSha256.length != 32) {
            throw new IllegalArgumentException("evidence SHA-256 must be 32 bytes");
        }
        this.evidenceSha256 = evidenceSha256.clone();
    }

    @Override
    public boolean binds(VerifiedEvidence evidence, byte[] expectedReportData) {
        return expectedReportData.length == 64 && MessageDigest.isEqual(evidenceSha256, evidence.evidenceSha256());
    }
}
