package dev.attestmesh.quote.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import java.time.Instant;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class SimulatedEvidenceVerifierTest {
    static final String MEASUREMENT = "a1".repeat(48);
    final SimulatedEvidenceVerifier verifier = SimulatedEvidenceVerifier.withDefaultKey();

    static byte[] reportData(int seed) {
        byte[] rd = new byte[64];
        Arrays.fill(rd, (byte) seed);
        return rd;
    }

    @Test
    void verifiesEvidenceFromTheSimulatorAndMarksItInsecure() throws Exception {
        byte[] ev = SimulatedTee.withMeasurementHex(MEASUREMENT).collect(reportData(7));
        VerifiedEvidence v = verifier.verify(VerificationRequest.of(TeeType.SIM, ev, Instant.now()));
        assertEquals(TeeType.SIM, v.tee());
        assertTrue(v.insecure());
        assertEquals(TcbStatus.UP_TO_DATE, v.tcbStatus());
        assertEquals(MEASUREMENT, v.primaryMeasurement());
        assertArrayEquals(reportData(7), v.reportData());
    }

    @Test
    void shortMeasurementsArePaddedWithZeros() throws Exception {
        byte[] ev = SimulatedTee.withMeasurementHex("aa").collect(reportData(1));
        VerifiedEvidence v = verifier.verify(VerificationRequest.of(TeeType.SIM, ev, Instant.now()));
        assertEquals("aa" + "00".repeat(47), v.primaryMeasurement());
        assertEquals(v.primaryMeasurement(), SimulatedTee.normalizeMeasurementHex("aa"));
    }

    @Test
    void rejectsEvidenceWhoseSignedBytesWereAltered() {
        byte[] ev = SimulatedTee.withMeasurementHex(MEASUREMENT).collect(reportData(7));
        for (int offset : new int[] {16, 64, 127, 130}) {
            byte[] t = ev.clone();
            t[offset] ^= 1;
            EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class,
                    () -> verifier.verify(VerificationRequest.of(TeeType.SIM, t, Instant.now())));
            assertEquals(VerificationCheck.SIM_SIGNATURE, e.check(), "offset " + offset);
        }
    }

    @Test
    void rejectsEvidenceSignedWithAnotherKey() {
        SimulatedTee other = new SimulatedTee(SimulatorKey.derive("another seed"),
                new byte[SimulatedEvidence.MEASUREMENT_LENGTH], false, java.time.Clock.systemUTC());
        byte[] ev = other.collect(reportData(2));
        EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class,
                () -> verifier.verify(VerificationRequest.of(TeeType.SIM, ev, Instant.now())));
        assertEquals(VerificationCheck.SIM_SIGNATURE, e.check());
    }

    @Test
    void parserRejectsTruncationBadMagicAndBadSignatureLength() {
        byte[] ev = SimulatedTee.withMeasurementHex(MEASUREMENT).collect(reportData(3));
        assertThrows(EvidenceParseException.class, () -> SimulatedEvidence.parse(Arrays.copyOf(ev, 100)));
        assertThrows(EvidenceParseException.class, () -> SimulatedEvidence.parse(Arrays.copyOf(ev, ev.length - 1)));
        byte[] magic = ev.clone();
        magic[0] = 'X';
        assertThrows(EvidenceParseException.class, () -> SimulatedEvidence.parse(magic));
        byte[] len = ev.clone();
        len[136] = (byte) 200;
        assertThrows(EvidenceParseException.class, () -> SimulatedEvidence.parse(len));
        EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class,
                () -> verifier.verify(VerificationRequest.of(TeeType.SIM, magic, Instant.now())));
        assertEquals(VerificationCheck.PARSE, e.check());
    }

    @Test
    void simulatorKeyIsDeterministicPerSeed() {
        assertArrayEquals(SimulatorKey.derive("x").getPublic().getEncoded(),
                SimulatorKey.derive("x").getPublic().getEncoded());
    }
}
