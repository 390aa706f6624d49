package dev.attestmesh.quote.sim;

import dev.attestmesh.quote.PlatformId;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.device.EvidenceCollector;
import dev.attestmesh.quote.trust.EcdsaP256;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * An explicitly insecure simulated TEE: it signs evidence over a configured measurement, its platform
 * id and the caller's report data with the {@link SimulatorKey}. It exists so that the whole system can
 * run on machines without TEE hardware.
 *
 * <p>Each instance stands for one machine: its 16-byte platform id is random unless given, is the same
 * in every piece of evidence it produces, and is covered by the simulator signature, so revocation by
 * platform can be exercised without hardware.
 */
public final class SimulatedTee implements EvidenceCollector {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final KeyPair key;
    private final EcdsaP256.SigningKey signingKey;
    private final byte[] measurement;
    private final byte[] platformId;
    private final boolean debug;
    private final Clock clock;

    /** A simulator with a random platform id. */
    public SimulatedTee(KeyPair key, byte[] measurement, boolean debug, Clock clock) {
        this(key, measurement, randomPlatformId(), debug, clock);
    }

    /**
     * A simulator with a chosen platform id (16 bytes), for tests and demos that need a stable
     * machine identity.
     */
    public SimulatedTee(KeyPair key, byte[] measurement, byte[] platformId, boolean debug, Clock clock) {
        if (measurement.length != SimulatedEvidence.MEASUREMENT_LENGTH) {
            throw new IllegalArgumentException("simulated measurement must be "
                    + SimulatedEvidence.MEASUREMENT_LENGTH + " bytes (" + 2 * SimulatedEvidence.MEASUREMENT_LENGTH
                    + " hex digits), got " + measurement.length);
        }
        if (platformId.length != SimulatedEvidence.PLATFORM_ID_LENGTH) {
            throw new IllegalArgumentException("simulated platform id must be "
                    + SimulatedEvidence.PLATFORM_ID_LENGTH + " bytes, got " + platformId.length);
        }
        this.key = key;
        this.signingKey = EcdsaP256.signingKey(key.getPrivate()).orElseThrow(() ->
                new IllegalArgumentException("the simulator key must be an exportable EC P-256 key"));
        this.measurement = measurement.clone();
        this.platformId = platformId.clone();
        this.debug = debug;
        this.clock = clock;
    }

    /**
     * A simulator with the default key, a random platform id and a measurement given as hex; a shorter
     * value is right-padded with zeros so that short demo values such as {@code "aa"} work.
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

    /** The same simulator (key, measurement, debug flag, clock) on another machine: {@code platformId}. */
    public SimulatedTee withPlatformId(byte[] platformId) {
        return new SimulatedTee(key, measurement, platformId, debug, clock);
    }

    /** Pads a measurement given as hex to the full 48 bytes, as the simulator does. */
    public static String normalizeMeasurementHex(String hex) {
        return HexFormat.of().formatHex(Arrays.copyOf(HexFormat.of().parseHex(hex.trim()),
                SimulatedEvidence.MEASUREMENT_LENGTH));
    }

    /** This simulated machine's 16-byte platform id. */
    public byte[] platformId() {
        return platformId.clone();
    }

    /** The platform id verified evidence from this simulator carries, {@code sim:<32 hex>}. */
    public String platformIdText() {
        return new PlatformId(PlatformId.Kind.SIM, platformId).value();
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
                clock.instant().getEpochSecond(), platformId);
        return SimulatedEvidence.frame(signed, signingKey.signDer(signed));
    }

    private static byte[] randomPlatformId() {
        byte[] id = new byte[SimulatedEvidence.PLATFORM_ID_LENGTH];
        RANDOM.nextBytes(id);
        return id;
    }
}
