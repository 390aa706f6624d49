package dev.attestmesh.quote.sim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.trust.EcdsaP256;
import java.security.KeyPair;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Optional;
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
        for (int offset : new int[] {16, 64, 127, 130, 136, 151}) {
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
        len[152] = (byte) 200;
        assertThrows(EvidenceParseException.class, () -> SimulatedEvidence.parse(len));
        EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class,
                () -> verifier.verify(VerificationRequest.of(TeeType.SIM, magic, Instant.now())));
        assertEquals(VerificationCheck.PARSE, e.check());
    }

    @Test
    void twoSimulatorsHaveDifferentPlatformIdsAndEachKeepsItsOwn() throws Exception {
        SimulatedTee a = SimulatedTee.withMeasurementHex(MEASUREMENT);
        SimulatedTee b = SimulatedTee.withMeasurementHex(MEASUREMENT);
        VerifiedEvidence a1 = verifier.verify(VerificationRequest.of(TeeType.SIM, a.collect(reportData(1)), Instant.now()));
        VerifiedEvidence a2 = verifier.verify(VerificationRequest.of(TeeType.SIM, a.collect(reportData(2)), Instant.now()));
        VerifiedEvidence b1 = verifier.verify(VerificationRequest.of(TeeType.SIM, b.collect(reportData(1)), Instant.now()));
        assertTrue(a1.platformId().orElseThrow().matches("sim:[0-9a-f]{32}"), a1.platformId().toString());
        assertEquals(a1.platformId(), a2.platformId(), "one machine keeps its platform id across evidence");
        assertEquals(Optional.of(a.platformIdText()), a1.platformId());
        assertNotEquals(a1.platformId(), b1.platformId(), "two simulated machines are two platforms");
    }

    @Test
    void aChosenPlatformIdIsCarriedIntoTheVerifiedEvidence() throws Exception {
        byte[] id = HexFormat.of().parseHex("00112233445566778899aabbccddeeff");
        SimulatedTee tee = SimulatedTee.withMeasurementHex(MEASUREMENT).withPlatformId(id);
        VerifiedEvidence v = verifier.verify(VerificationRequest.of(TeeType.SIM, tee.collect(reportData(4)), Instant.now()));
        assertEquals(Optional.of("sim:00112233445566778899aabbccddeeff"), v.platformId());
        assertEquals(MEASUREMENT, v.primaryMeasurement(), "withPlatformId keeps the measurement");
        assertThrows(IllegalArgumentException.class, () -> tee.withPlatformId(new byte[15]));
    }

    @Test
    void aTamperedPlatformIdBreaksTheSignature() throws Exception {
        SimulatedTee tee = SimulatedTee.withMeasurementHex(MEASUREMENT).withPlatformId(new byte[16]);
        byte[] ev = tee.collect(reportData(5));
        byte[] t = ev.clone();
        t[SimulatedEvidence.PLATFORM_ID_OFFSET + 3] = 0x42;
        assertArrayEquals(new byte[] {0, 0, 0, 0x42}, Arrays.copyOf(SimulatedEvidence.parse(t).platformId().orElseThrow(), 4),
                "the parser reads the altered platform id");
        EvidenceVerificationException e = assertThrows(EvidenceVerificationException.class,
                () -> verifier.verify(VerificationRequest.of(TeeType.SIM, t, Instant.now())));
        assertEquals(VerificationCheck.SIM_SIGNATURE, e.check());
    }

    @Test
    void versionOneEvidenceStillVerifiesWithoutAPlatformId() throws Exception {
        KeyPair key = SimulatorKey.derive(SimulatorKey.DEFAULT_SEED);
        byte[] signed = SimulatedEvidence.encodeSignedV1(0, HexFormat.of().parseHex(MEASUREMENT), reportData(6), 1_700_000_000L);
        byte[] ev = SimulatedEvidence.frame(signed, EcdsaP256.signingKey(key.getPrivate()).orElseThrow().signDer(signed));
        assertEquals(1, SimulatedEvidence.parse(ev).version());
        VerifiedEvidence v = verifier.verify(VerificationRequest.of(TeeType.SIM, ev, Instant.now()));
        assertEquals(MEASUREMENT, v.primaryMeasurement());
        assertArrayEquals(reportData(6), v.reportData());
        assertEquals(Optional.empty(), v.platformId());
        byte[] t = ev.clone();
        t[100] ^= 1;
        assertEquals(VerificationCheck.SIM_SIGNATURE, assertThrows(EvidenceVerificationException.class,
                () -> verifier.verify(VerificationRequest.of(TeeType.SIM, t, Instant.now()))).check());
    }

    @Test
    void theSimulatorWritesVersionTwo() throws Exception {
        byte[] ev = SimulatedTee.withMeasurementHex(MEASUREMENT).collect(reportData(8));
        assertEquals(2, SimulatedEvidence.parse(ev).version());
        byte[] v3 = ev.clone();
        v3[8] = 3;
        assertThrows(EvidenceParseException.class, () -> SimulatedEvidence.parse(v3));
    }

    @Test
    void simulatorKeyIsDeterministicPerSeed() {
        assertArrayEquals(SimulatorKey.derive("x").getPublic().getEncoded(),
                SimulatorKey.derive("x").getPublic().getEncoded());
    }
}
