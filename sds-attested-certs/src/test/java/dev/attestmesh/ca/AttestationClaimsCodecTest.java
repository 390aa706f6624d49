package dev.attestmesh.ca;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.policy.PolicyRef;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerifiedEvidence;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DERSequence;
import org.junit.jupiter.api.Test;

class AttestationClaimsCodecTest {
    private static final AttestationClaims CLAIMS = AttestationBoundIssuerTest.claims("node-7",
            List.of(new PolicyRef("default", 2)));

    @Test
    void roundTripsEveryField() throws Exception {
        AttestationClaims c = new AttestationClaims(1, "n", TeeType.SIM, Map.of("measurement", "00ff".repeat(24)),
                "SWHardeningNeeded", List.of("INTEL-SA-1", "INTEL-SA-2"), List.of(new PolicyRef("a", 1),
                new PolicyRef("b", Long.MAX_VALUE)), filled(32, 7), Instant.parse("2030-01-02T03:04:05.999Z"), true, true);
        AttestationClaims back = AttestationClaimsCodec.decode(AttestationClaimsCodec.encode(c));
        assertEquals(c, back);
        assertEquals(Instant.parse("2030-01-02T03:04:05Z"), back.attestedAt());
        assertTrue(back.insecure() && back.debug());
    }

    @Test
    void buildsClaimsFromVerifiedEvidence() {
        VerifiedEvidence ev = new VerifiedEvidence(TeeType.SIM, TcbStatus.UP_TO_DATE, List.of(), false, true,
                new byte[64], Map.of("measurement", "aa".repeat(48)), Map.of(), filled(32, 1), Optional.empty(),
                Optional.empty());
        AttestationClaims c = AttestationClaims.of("n1", ev, List.of(new PolicyRef("default", 1)), Instant.EPOCH);
        assertEquals(ev.measurements(), c.measurements());
        assertEquals("UpToDate", c.tcbStatus());
        assertTrue(c.insecure());
        assertEquals(List.of("default"), c.policyIds());
    }

    @Test
    void rejectsUnknownVersion() throws Exception {
        ASN1Sequence s = ASN1Sequence.getInstance(AttestationClaimsCodec.encode(CLAIMS));
        ASN1Encodable[] f = s.toArray();
        f[0] = new ASN1Integer(2);
        var e = assertThrows(ClaimsDecodeException.class, () -> AttestationClaimsCodec.decode(new DERSequence(f).getEncoded()));
        assertTrue(e.getMessage().contains("unsupported claims version 2"), e.getMessage());
    }

    @Test
    void rejectsTrailingBytesTruncationAndGarbage() {
        byte[] der = AttestationClaimsCodec.encode(CLAIMS);
        assertThrows(ClaimsDecodeException.class, () -> AttestationClaimsCodec.decode(Arrays.copyOf(der, der.length + 1)));
        assertThrows(ClaimsDecodeException.class, () -> AttestationClaimsCodec.decode(Arrays.copyOf(der, der.length - 1)));
        assertThrows(ClaimsDecodeException.class, () -> AttestationClaimsCodec.decode(new byte[] {1, 2, 3}));
        assertThrows(ClaimsDecodeException.class, () -> AttestationClaimsCodec.decode(new byte[0]));
    }

    @Test
    void rejectsMissingOrMistypedFields() throws Exception {
        ASN1Sequence s = ASN1Sequence.getInstance(AttestationClaimsCodec.encode(CLAIMS));
        ASN1Encodable[] f = s.toArray();
        assertThrows(ClaimsDecodeException.class,
                () -> AttestationClaimsCodec.decode(new DERSequence(Arrays.copyOf(f, 10)).getEncoded()));
        ASN1Encodable[] g = f.clone();
        g[1] = new ASN1Integer(5);
        var e = assertThrows(ClaimsDecodeException.class, () -> AttestationClaimsCodec.decode(new DERSequence(g).getEncoded()));
        assertTrue(e.getMessage().contains("nodeId"), e.getMessage());
    }

    private static byte[] filled(int n, int v) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) v);
        return b;
    }
}
