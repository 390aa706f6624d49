package dev.attestmesh.sds;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.util.JsonFormat;
import dev.attestmesh.ca.AttestMeshOids;
import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.Pem;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.Secret;
import io.envoyproxy.envoy.extensions.transport_sockets.tls.v3.SubjectAltNameMatcher;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;

class SdsSecretFactoryTest {
    private final MeshCa ca = MeshCa.generate("mesh.example", Clock.systemUTC());

    private static Secret roundTrip(Secret s) throws Exception {
        String json = JsonFormat.printer().print(s);
        Secret.Builder b = Secret.newBuilder();
        JsonFormat.parser().merge(json, b); // rejects unknown fields, so the JSON is structurally a Secret
        return b.build();
    }

    @Test
    void defaultSecretCarriesInlineChainAndKeyFilename() throws Exception {
        Secret s = roundTrip(SdsSecretFactory.tlsCertificate(List.of(ca.issuingIntermediate(), ca.root()), "/var/run/attestmesh/key.pem"));
        assertEquals("default", s.getName());
        assertEquals(List.of(ca.issuingIntermediate(), ca.root()),
                Pem.parseCertificates(s.getTlsCertificate().getCertificateChain().getInlineString()));
        assertEquals("/var/run/attestmesh/key.pem", s.getTlsCertificate().getPrivateKey().getFilename());
        assertEquals("", s.getTlsCertificate().getPrivateKey().getInlineString());
    }

    @Test
    void rootCaSecretTrustsTheBundle() throws Exception {
        Secret s = roundTrip(SdsSecretFactory.rootCa(ca.trustBundle()));
        assertEquals("ROOTCA", s.getName());
        assertEquals(ca.trustBundle(), Pem.parseCertificates(s.getValidationContext().getTrustedCa().getInlineString()));
        assertEquals(0, s.getValidationContext().getMatchTypedSubjectAltNamesCount());
    }

    @Test
    void policySecretRequiresThePolicyOtherNameSan() throws Exception {
        Secret s = roundTrip(SdsSecretFactory.policyValidation("production", ca.trustBundle()));
        assertEquals("policy:production", s.getName());
        assertEquals(ca.trustBundle(), Pem.parseCertificates(s.getValidationContext().getTrustedCa().getInlineString()));
        SubjectAltNameMatcher m = s.getValidationContext().getMatchTypedSubjectAltNames(0);
        assertEquals(SubjectAltNameMatcher.SanType.OTHER_NAME, m.getSanType());
        assertEquals(AttestMeshOids.POLICY_SAN, m.getOid());
        assertEquals("production", m.getMatcher().getExact());
        assertEquals("production", SdsNames.policyIdOf(s.getName()).orElseThrow());
    }

    @Test
    void rejectsEmptyInputs() {
        assertThrows(IllegalArgumentException.class, () -> SdsSecretFactory.rootCa(List.of()));
        assertThrows(IllegalArgumentException.class, () -> SdsSecretFactory.tlsCertificate(List.of(ca.root()), " "));
        assertThrows(IllegalArgumentException.class, () -> SdsSecretFactory.policyValidation("", ca.trustBundle()));
    }
}
