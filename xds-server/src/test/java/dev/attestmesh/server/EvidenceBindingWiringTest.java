package dev.attestmesh.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.admission.AttestationAdmission;
import dev.attestmesh.admission.EvidenceBinding;
import dev.attestmesh.agent.NodeKeyPair;
import dev.attestmesh.quote.EvidenceVerifiers;
import dev.attestmesh.server.app.ControlPlaneFactory;
import dev.attestmesh.server.attest.AttestationFailureReason;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The binding seam of {@link HardwareEvidenceThroughThePlaneTest} cannot be reached in production: every
 * public way to build a control plane (and the Micronaut factory) applies the report-data binding, and
 * real evidence, which verifies, is refused at the binding stage when it does not bind the nonce.
 */
class EvidenceBindingWiringTest {

    @Test
    void noPublicWayToBuildAControlPlaneOrItsFactoryTakesABinding() {
        List<String> takers = new ArrayList<>();
        for (Executable e : executables(ControlPlane.class)) {
            if (Arrays.asList(e.getParameterTypes()).contains(EvidenceBinding.class)) {
                assertFalse(Modifier.isPublic(e.getModifiers()) || Modifier.isProtected(e.getModifiers()),
                        "ControlPlane exposes a binding seam: " + e);
                takers.add(e.getName());
            }
        }
        // The private constructor and the package-private test factory, nothing else.
        assertEquals(List.of(ControlPlane.class.getName(), "startWithEvidenceBinding"), takers.stream().sorted().toList());
        for (Executable e : executables(ControlPlaneFactory.class)) {
            assertFalse(Arrays.asList(e.getParameterTypes()).contains(EvidenceBinding.class), e.toString());
        }
        for (Field f : ControlPlaneFactory.class.getDeclaredFields()) {
            assertFalse(EvidenceBinding.class.isAssignableFrom(f.getType()), f.toString());
        }
    }

    @Test
    void admissionBuiltWithoutABindingChecksTheReportData() {
        AttestationAdmission admission = new AttestationAdmission(null, null, List::of, List::of, null, null, null,
                null, Clock.systemUTC());
        assertSame(EvidenceBinding.reportData(), admission.binding());
    }

    @Test
    void theMicronautWiredControlPlaneChecksTheReportData() throws Exception {
        try (ControlPlaneFixture f = ControlPlaneFixture.start(ControlPlaneFixture.simPolicy("default",
                ControlPlaneFixture.GOOD), Map.of())) {
            assertSame(EvidenceBinding.reportData(), f.cp.evidenceBinding());
        }
    }

    /** Each real vector verifies (so the evidence stage passes) and is then refused: it cannot bind this nonce. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("dev.attestmesh.server.HardwareEvidenceThroughThePlaneTest#vectors")
    void realEvidenceThatDoesNotBindTheNonceIsRefusedAtTheBindingStage(HardwareVector vector) throws Exception {
        withPlane(vector, dir -> ControlPlane.start(settings(dir, vector), Clock.systemUTC(),
                EvidenceVerifiers.of(vector.verifier())), (cp, nodeId) -> {
            assertSame(EvidenceBinding.reportData(), cp.evidenceBinding());
            assertRefusedAtBinding(cp, nodeId, vector);
        });
    }

    @Test
    void theTestBindingHoldsForItsOwnRecordedEvidenceOnly() throws Exception {
        List<HardwareVector> all = HardwareVector.all();
        HardwareVector sgx = all.get(0);
        HardwareVector tdx = all.get(1);
        byte[] sgxDigest = MessageDigest.getInstance("SHA-256").digest(sgx.evidenceBytes());
        withPlane(tdx, dir -> ControlPlane.startWithEvidenceBinding(settings(dir, tdx), Clock.systemUTC(),
                EvidenceVerifiers.of(sgx.verifier(), tdx.verifier()), new RecordedEvidenceBinding(sgxDigest)),
                (cp, nodeId) -> assertRefusedAtBinding(cp, nodeId, tdx));
    }

    private static void assertRefusedAtBinding(ControlPlane cp, String nodeId, HardwareVector vector) throws Exception {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () ->
                HardwareEvidenceThroughThePlaneTest.attest("127.0.0.1:" + cp.grpcPort(), cp.trustBundle(), nodeId,
                        vector, vector.evidenceBytes(), NodeKeyPair.generate()));
        assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("does not bind this nonce"), e.getStatus().getDescription());
        assertEquals(1, cp.metrics().failures(AttestationFailureReason.BINDING));
        assertEquals(0, cp.metrics().failures(AttestationFailureReason.EVIDENCE));
        assertTrue(cp.registry().entry(nodeId).isEmpty(), "nothing recorded");
        assertTrue(cp.issuanceLog().head().isEmpty(), "nothing issued");
    }

    private static ControlPlaneSettings settings(Path dir, HardwareVector vector) throws Exception {
        Path policies = Files.writeString(dir.resolve("policies.yaml"), vector.policies());
        Path registrations = Files.writeString(dir.resolve("registrations.yaml"), """
                registrations:
                  - id: hardware
                    spiffeId: spiffe://attestmesh.local/hw/{nodeId}
                    policies: [real]
                """);
        return ControlPlaneSettings.forTests(dir.resolve("cp"), Optional.of(policies)).withDevMode(false)
                .withRegistrationFile(Optional.of(registrations));
    }

    private interface Starter {
        ControlPlane start(Path dir) throws Exception;
    }

    private interface Body {
        void run(ControlPlane cp, String nodeId) throws Exception;
    }

    private static void withPlane(HardwareVector vector, Starter starter, Body body) throws Exception {
        Path dir = Files.createTempDirectory("attestmesh-binding");
        try (ControlPlane cp = starter.start(dir)) {
            body.run(cp, "hw-" + vector.tee().wireName());
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static List<Executable> executables(Class<?> c) {
        List<Executable> all = new ArrayList<>(Arrays.asList(c.getDeclaredConstructors()));
        all.addAll(Arrays.asList(c.getDeclaredMethods()));
        return all;
    }
}
