package dev.attestmesh.server.relying;

import dev.attestmesh.issuance.LogCheckpointer;
import dev.attestmesh.quote.device.TeeDetector;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.admin.ControlPlaneAttestation;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;

/**
 * Creates the relying-party beans (docs/relying-party.md): the manifest from the live registries, the
 * statement service over the TEE the control plane runs in (the simulated TEE in dev mode), and limits.
 */
@Factory
public class RelyingPartyFactory {
    /**
     * The measurement the simulated TEE reports for a control plane in dev mode: SHA-384 of
     * "attestmesh dev control plane", so {@code --expect-measurement} has a documented value to pin.
     */
    public static final String DEV_MEASUREMENT = java.util.HexFormat.of().formatHex(sha384(
            "attestmesh dev control plane"));

    @Singleton
    RelyingPartySettings relyingPartySettings(ControlPlane cp,
            @Value("${attestmesh.statement.rate:2}") double rate,
            @Value("${attestmesh.statement.burst:10}") int burst,
            @Value("${attestmesh.statement.concurrent:2}") int concurrent,
            @Value("${attestmesh.statement.manifest-rate:20}") double manifestRate,
            @Value("${attestmesh.statement.peer-rate:0.5}") double peerRate,
            @Value("${attestmesh.statement.peer-burst:3}") int peerBurst) {
        return new RelyingPartySettings(cp.settings().devMode(),
                new StatementLimiter(rate, burst, concurrent, peerRate, peerBurst, System::nanoTime),
                new StatementLimiter(manifestRate, Math.max(1, (int) Math.ceil(manifestRate * 2)), 4, System::nanoTime));
    }

    @Singleton
    ManifestSnapshots manifestSnapshots(ControlPlane cp, LogCheckpointer checkpoints) {
        return new ManifestSnapshots(new MeshManifestBuilder(cp::meshCa, cp.policies(), cp.registrations(), cp.mesh(),
                checkpoints, cp::caKeySealing, () -> cp.sealingKeys().publicKeys(), cp.settings().devMode()));
    }

    /** Eager, so the gRPC MeshStatementService is served from the start. */
    @io.micronaut.context.annotation.Context
    StatementService statementService(ControlPlane cp, ManifestSnapshots manifests, RelyingPartySettings settings) {
        ControlPlaneAttestation.TeeSource tee = cp.settings().devMode()
                ? () -> SimulatedTee.withMeasurementHex(DEV_MEASUREMENT)
                : TeeDetector.system()::detect;
        StatementService service = new StatementService(manifests,
                new ControlPlaneAttestation(() -> cp.meshCa().root(), tee), settings.statementLimiter());
        cp.addGrpcService(new MeshStatementGrpcService(service).definition());
        return service;
    }

    private static byte[] sha384(String s) {
        try {
            return java.security.MessageDigest.getInstance("SHA-384").digest(s.getBytes(
                    java.nio.charset.StandardCharsets.US_ASCII));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
