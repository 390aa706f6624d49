package dev.attestmesh.quote.sim;

import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.device.EvidenceCollector;
import dev.attestmesh.quote.trust.EcdsaP256;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.KeyPair;
import java.time.Clock;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * An explicitly insecure simulated TEE: it signs evidence over a configured measurement and the
 * caller's report data with the {@link SimulatorKey}. It exists so that the whole system can run on
 * machines without TEE hardware.
 */
public final class SimulatedTee implements EvidenceCollector {
    private final EcdsaP256.SigningKey signingKey;
    private final byte[] measurement;
    private final boolean debug;
    private final Clock clock;

    public SimulatedTee(KeyPair key, byte[] measurement, boolean debug, Clock clock) {
        if (measurement.length != SimulatedEvidence.MEASUREMENT_LENGTH) {
            throw new IllegalArgumentException("simulated measurement must be "
                    + SimulatedEvidence.MEASUREMENT_LENGTH + " bytes (" + 2 * SimulatedEvidence.MEASUREMENT_LENGTH
                    + " hex digits), got " + measurement.length);
        }
        this.signingKey = EcdsaP256.signingKey(key.getPrivate()).orElseThrow(() ->
                new IllegalArgumentException("the simulator key must be an exportable EC P-256 key"));
        this.measurement = measurement.clone();
        this.debug = debug;
        this.clock = clock;
    }

    /**
     * A simulator with the default key and a measurement given as hex; a shorter value is
     * right-padded with zeros so that short demo values such as {@code "aa"} work.
     */
    public static SimulatedTee withMeasurementHex(String hex) {
        byte[] m;
        try {
            m = HexFormat.of().parseHex(hex.trim());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("simulated measurement '" + hex + "' is not hex", e);
        }
        if (m.length > SimulatedEvidence.MEASUREMENT_LENGTH) {
            throw new IllegalArgumentException("simulated measurement is longer than "
                    + SimulatedEvidence.MEASUREMENT_LENGTH + " bytes");
        }
        return new SimulatedTee(SimulatorKey.derive(SimulatorKey.DEFAULT_SEED),
                Arrays.copyOf(m, SimulatedEvidence.MEASUREMENT_LENGTH), false, Clock.systemUTC());
    }

    /** Pads a measurement given as hex to the full 48 bytes, as the simulator does. */
    public static String normalizeMeasurementHex(String hex) {
        return HexFormat.of().formatHex(Arrays.copyOf(HexFormat.of().parseHex(hex.trim()),
                SimulatedEvidence.MEASUREMENT_LENGTH));
    }

    @Override
    public TeeType tee() {
        return TeeType.SIM;
    }

    @Override
    public byte[] collect(byte[] reportData) {
        if (reportData.length != 64) {
            throw new IllegalArgumentException("report data must be 64 bytes, got " + reportData.length);
        }
        byte[] signed = SimulatedEvidence.encodeSigned(debug ? 1 : 0, measurement, reportData,
                clock.instant().getEpochSecond());
        byte[] sig = signingKey.signDer(signed);
        ByteBuffer out = ByteBuffer.allocate(signed.length + 2 + sig.length).order(ByteOrder.LITTLE_ENDIAN);
        out.put(signed, 0, SimulatedEvidence.SIGNED_LENGTH).putShort((short) sig.length).put(sig);
        return out.array();
    }
}
