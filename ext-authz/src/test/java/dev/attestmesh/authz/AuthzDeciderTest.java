package dev.attestmesh.authz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.attestmesh.ca.AttestMeshOids;
import dev.attestmesh.quote.TeeType;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;

class AuthzDeciderTest {

    @Test
    void neverThrowsWhenTheRegistryFails() throws Exception {
        MeshFixture mesh = new MeshFixture();
        var cert = mesh.attest("node-1", Map.of("default", 1L));
        RegistryView broken = new RegistryView() {
            @Override
            public Optional<NodeAuthzRecord> byNodeId(String id) {
                throw new IllegalStateException("database down");
            }

            @Override
            public List<NodeAuthzRecord> instancesOf(String spiffeId) {
                throw new IllegalStateException("database down");
            }

            @Override
            public OptionalLong currentPolicyVersion(String policyId) {
                return OptionalLong.of(1);
            }

            @Override
            public List<X509Certificate> trustBundle() {
                return mesh.ca.trustBundle();
            }

            @Override
            public List<String> requiredPolicies(String p, int port) {
                return List.of();
            }

            @Override
            public void addChangeListener(Runnable r) {}
        };
        AuthzDecider d = new AuthzDecider(broken, mesh.clock, 100);
        Decision r = d.decide(MeshFixture.network(MeshFixture.envoyEncode(cert.leaf()), ""), List.of("default"));
        assertEquals(new Decision.Deny("internal error: IllegalStateException"), r);
    }

    @Test
    void deniesValidlySignedCertificateWithUndecodableClaims() throws Exception {
        MeshFixture mesh = new MeshFixture();
        mesh.attest("node-1", Map.of("default", 1L));
        Instant now = mesh.clock.instant();
        KeyPair rootKp = p256();
        X509Certificate root = cert(new X500Name("CN=Rogue Root"), rootKp.getPublic(), new X500Name("CN=Rogue Root"),
                rootKp.getPrivate(), now, true, null);
        KeyPair interKp = p256();
        X509Certificate inter = cert(new X500Name("CN=Rogue Inter"), interKp.getPublic(), new X500Name("CN=Rogue Root"),
                rootKp.getPrivate(), now, true, null);
        X509Certificate leaf = cert(new X500Name("O=x"), p256().getPublic(), new X500Name("CN=Rogue Inter"),
                interKp.getPrivate(), now, false, new byte[] {0x30, 0x03, 0x02, 0x01, 0x09});
        mesh.registry.setTrustBundle(List.of(root, inter));
        AuthzDecider d = new AuthzDecider(mesh.registry, mesh.clock, 100);
        // A policy is named, so the decision reaches the certificate (without one the unknown destination denies first).
        Decision r = d.decide(MeshFixture.network(MeshFixture.envoyEncode(leaf), ""), List.of("default"));
        Decision.Deny deny = assertInstanceOf(Decision.Deny.class, r);
        assertTrue(deny.reason().startsWith("peer certificate claims are unreadable"), deny.reason());
    }

    @Test
    void deniesAnUnknownDestinationInsteadOfRequiringNothingAndAllowsOnceItIsKnown() throws Exception {
        MeshFixture mesh = new MeshFixture();
        var caller = mesh.attest("node-1", Map.of("default", 1L));
        AuthzDecider d = new AuthzDecider(mesh.registry, mesh.clock, 100);
        var req = MeshFixture.network(MeshFixture.envoyEncode(caller.leaf()), "");
        Decision.Deny deny = assertInstanceOf(Decision.Deny.class, d.decide(req, List.of()));
        assertTrue(deny.reason().startsWith("destination not synced"), deny.reason());
        assertTrue(deny.reason().contains("spiffe://mesh.example/node/server"), deny.reason());
        assertInstanceOf(Decision.Allow.class, d.decide(req, List.of("default")), "a named policy needs no mesh lookup");
        mesh.attest("server", Map.of("default", 1L)); // the view learns the destination
        assertInstanceOf(Decision.Allow.class, d.decide(req, List.of()), "known, and its port requires nothing");
        mesh.registry.requirePolicies("spiffe://mesh.example/node/server", 8443, List.of("production"));
        assertInstanceOf(Decision.Deny.class, d.decide(req, List.of()));
    }

    @Test
    void allowOutlivesNeitherCertificateNorCacheInvalidation() throws Exception {
        MeshFixture mesh = new MeshFixture();
        var cert = mesh.attest("node-1", Map.of("default", 1L));
        AuthzDecider d = new AuthzDecider(mesh.registry, mesh.clock, 100);
        var req = MeshFixture.network(MeshFixture.envoyEncode(cert.leaf()), "");
        assertInstanceOf(Decision.Allow.class, d.decide(req, List.of("default")));
        mesh.clock.advance(Duration.ofMinutes(61)); // past the leaf's notAfter; cached Allow must not be reused
        assertInstanceOf(Decision.Deny.class, d.decide(req, List.of("default")));
    }

    private static KeyPair p256() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        return g.generateKeyPair();
    }

    private static X509Certificate cert(X500Name subject, PublicKey key, X500Name issuer, PrivateKey signer, Instant now,
            boolean ca, byte[] claims) throws Exception {
        var b = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(now.toEpochMilli()), Date.from(now.minusSeconds(60)),
                Date.from(now.plus(Duration.ofHours(1))), subject, key);
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(ca ? KeyUsage.keyCertSign : KeyUsage.digitalSignature));
        if (claims != null) {
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(
                    new GeneralName(GeneralName.uniformResourceIdentifier, "spiffe://mesh.example/node/node-1")));
            b.addExtension(new ASN1ObjectIdentifier(AttestMeshOids.CLAIMS_EXTENSION), false, claims);
        }
        return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
    }


    @Test
    void aCertificateFieldDifferingInOneByteNeverHitsTheGenuineFieldsCachedAllow() throws Exception {
        MeshFixture mesh = new MeshFixture();
        var issued = mesh.attest("node-1", Map.of("default", 1L));
        AuthzDecider decider = new AuthzDecider(mesh.registry, mesh.clock, 1000);
        String genuine = MeshFixture.envoyEncode(issued.leaf());
        // One base64 character of the signature changed: same length, same prefix, a different certificate
        int at = genuine.lastIndexOf("%0A-----END") - 10;
        char flipped = genuine.charAt(at) == 'A' ? 'B' : 'A';
        String forged = genuine.substring(0, at) + flipped + genuine.substring(at + 1);
        assertEquals(genuine.length(), forged.length());
        Decision allow = decider.decide(MeshFixture.network(genuine, ""), List.of("default"));
        assertInstanceOf(Decision.Allow.class, allow);
        assertTrue(allow == decider.decide(MeshFixture.network(genuine, ""), List.of("default")), "cached");
        for (int i = 0; i < 2; i++) { // decided afresh each time (denials are cached under their own key)
            Decision d = decider.decide(MeshFixture.network(forged, ""), List.of("default"));
            assertInstanceOf(Decision.Deny.class, d, "a one-byte change must not reuse the genuine field's decision");
        }
        // And the other way round: a denial cached for the forged field does not deny the genuine one
        AuthzDecider fresh = new AuthzDecider(mesh.registry, mesh.clock, 1000);
        assertInstanceOf(Decision.Deny.class, fresh.decide(MeshFixture.network(forged, ""), List.of("default")));
        assertInstanceOf(Decision.Allow.class, fresh.decide(MeshFixture.network(genuine, ""), List.of("default")));
    }

    /**
     * The certificate field's UTF-8 is checked once, by the decision on a cache miss (the wire decoder keeps its
     * bytes as sent): a field that is not UTF-8 is denied with that reason, every time, and never reaches the
     * certificate parser; the genuine field next to it is still allowed.
     */
    @Test
    void deniesACertificateFieldThatIsNotUtf8() throws Exception {
        MeshFixture mesh = new MeshFixture();
        var issued = mesh.attest("node-1", Map.of("default", 1L));
        AuthzDecider decider = new AuthzDecider(mesh.registry, mesh.clock, 1000);
        byte[] genuine = MeshFixture.envoyEncode(issued.leaf()).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        byte[] bad = genuine.clone();
        bad[bad.length / 2] = (byte) 0xC3; // a lead byte followed by ASCII: malformed UTF-8
        for (int i = 0; i < 2; i++) {
            Decision d = decider.decide(new CheckFields(bad, "", "", 0, null, false, bad.length + 20), List.of("default"));
            assertTrue(d instanceof Decision.Deny deny && deny.reason().contains("not UTF-8"), d.toString());
        }
        assertInstanceOf(Decision.Allow.class,
                decider.decide(new CheckFields(genuine, "", "", 0, null, false, genuine.length + 20), List.of("default")));
    }

    @Test
    void theSameCertificateEncodedDifferentlyIsDecidedOnItsOwnBytes() throws Exception {
        MeshFixture mesh = new MeshFixture();
        var issued = mesh.attest("node-1", Map.of("default", 1L));
        AuthzDecider decider = new AuthzDecider(mesh.registry, mesh.clock, 1000);
        String upper = MeshFixture.envoyEncode(issued.leaf());
        String lower = upper.replace("%0A", "%0a").replace("%2F", "%2f").replace("%2B", "%2b").replace("%3D", "%3d");
        String unescapedSlash = upper.replace("%2F", "/"); // not what Envoy sends: refused by the strict decoder
        assertTrue(!lower.equals(upper) && !unescapedSlash.equals(upper));
        Decision first = decider.decide(MeshFixture.network(upper, ""), List.of("default"));
        assertInstanceOf(Decision.Allow.class, first);
        Decision second = decider.decide(MeshFixture.network(lower, ""), List.of("default"));
        assertInstanceOf(Decision.Allow.class, second, "lower-case escapes decode to the same certificate");
        assertTrue(first != second, "another encoding is decided afresh, not served from the first one's entry");
        assertTrue(second == decider.decide(MeshFixture.network(lower, ""), List.of("default")), "then cached itself");
        Decision refused = decider.decide(MeshFixture.network(unescapedSlash, ""), List.of("default"));
        assertTrue(refused instanceof Decision.Deny d && d.reason().contains("not URL-encoded"), refused.toString());
        // The required policies are part of the key: the cached allow for "default" says nothing about "gold"
        assertInstanceOf(Decision.Deny.class, decider.decide(MeshFixture.network(upper, ""), List.of("default", "gold")));
    }

    @Test
    void deniesAGenuineCertificateWithBytesAppendedToItsDer() throws Exception {
        MeshFixture mesh = new MeshFixture();
        var issued = mesh.attest("node-1", Map.of("default", 1L));
        AuthzDecider decider = new AuthzDecider(mesh.registry, mesh.clock, 1000);
        byte[] der = issued.leaf().getEncoded();
        byte[] padded = java.util.Arrays.copyOf(der, der.length + 3);
        String pem = "-----BEGIN CERTIFICATE-----\n"
                + java.util.Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(padded)
                + "\n-----END CERTIFICATE-----\n";
        String encoded = pem.replace("%", "%25").replace("\n", "%0A").replace(" ", "%20").replace("+", "%2B")
                .replace("/", "%2F").replace("=", "%3D");
        assertTrue(decider.decide(MeshFixture.network(MeshFixture.envoyEncode(issued.leaf()),
                "spiffe://mesh.example/node/node-1"), List.of("default")) instanceof Decision.Allow);
        Decision d = decider.decide(MeshFixture.network(encoded, "spiffe://mesh.example/node/node-1"),
                List.of("default"));
        assertTrue(d instanceof Decision.Deny deny && deny.reason().contains("bytes after"), d.toString());
    }

    @Test
    void deniesSimulatedEvidenceByCertificateAndByPrincipalUnlessInDevMode() throws Exception {
        MeshFixture mesh = new MeshFixture();
        var cert = mesh.attest("sim-1", Map.of("default", 1L), TeeType.SIM);
        var byCert = MeshFixture.network(MeshFixture.envoyEncode(cert.leaf()), "");
        var byPrincipal = MeshFixture.network("", "spiffe://mesh.example/node/sim-1");
        AuthzDecider production = new AuthzDecider(mesh.registry, mesh.clock, AuthzDecider.Settings.defaults());
        for (var req : List.of(byCert, byPrincipal)) {
            Decision.Deny deny = assertInstanceOf(Decision.Deny.class, production.decide(req, List.of("default")));
            assertTrue(deny.reason().contains("simulated-TEE evidence, which is insecure")
                    && deny.reason().contains("dev mode"), deny.reason());
        }
        AuthzDecider dev = new AuthzDecider(mesh.registry, mesh.clock, AuthzDecider.Settings.defaults().withAllowInsecure(true));
        for (var req : List.of(byCert, byPrincipal)) {
            assertInstanceOf(Decision.Allow.class, dev.decide(req, List.of("default")));
        }
    }

    @Test
    void readsTheInsecureClaimOfTheCertificateEvenWhenTheRecordSaysHardware() throws Exception {
        MeshFixture mesh = new MeshFixture();
        var hardware = mesh.attest("node-1", Map.of("default", 1L)); // the record: TDX
        var simulated = mesh.issue(mesh.issuer, "node-1", dev.attestmesh.ca.SpiffeId.forNode(MeshFixture.TD, "node-1"),
                Map.of("default", 1L), TeeType.SIM); // claims marked insecure
        var r = mesh.registry.byNodeId("node-1").orElseThrow();
        mesh.registry.put(new NodeAuthzRecord(r.nodeId(), r.spiffeId(), r.state(), "", TeeType.TDX, r.measurement(),
                r.satisfiedPolicies(), java.util.Set.of(hardware.sha256Hex(), simulated.sha256Hex()),
                r.evidenceExpiresAt(), r.registration(), r.certificateNotAfter()));
        AuthzDecider d = new AuthzDecider(mesh.registry, mesh.clock, AuthzDecider.Settings.defaults());
        assertInstanceOf(Decision.Allow.class,
                d.decide(MeshFixture.network(MeshFixture.envoyEncode(hardware.leaf()), ""), List.of("default")));
        Decision.Deny deny = assertInstanceOf(Decision.Deny.class,
                d.decide(MeshFixture.network(MeshFixture.envoyEncode(simulated.leaf()), ""), List.of("default")));
        assertEquals("node 'node-1' " + RecordChecks.INSECURE, deny.reason());
    }

    @Test
    void denialReasonsQuoteCallerTextAndStayBounded() throws Exception {
        MeshFixture mesh = new MeshFixture();
        AuthzDecider d = new AuthzDecider(mesh.registry, mesh.clock, AuthzDecider.Settings.defaults());
        String forged = "spiffe://x/\nINFO forged log line\u0000" + "y".repeat(5000);
        Decision.Deny deny = assertInstanceOf(Decision.Deny.class,
                d.decide(MeshFixture.network("", forged), List.of("default")));
        assertTrue(deny.reason().length() <= dev.attestmesh.authz.peer.UntrustedText.MAX_REASON_CHARS, deny.reason());
        assertTrue(deny.reason().chars().allMatch(c -> c >= 0x20 && c < 0x7f), deny.reason());
        assertTrue(deny.reason().contains("spiffe://x/?INFO forged log line?yyy"), deny.reason());
        var cert = mesh.attest("node-1", Map.of("default", 1L));
        Decision.Deny policy = assertInstanceOf(Decision.Deny.class, d.decide(
                MeshFixture.network(MeshFixture.envoyEncode(cert.leaf()), ""), List.of("gold\r\nrogue")));
        assertEquals("unknown policy 'gold??rogue'", policy.reason());
        // The revocation reason an operator gave stays readable, only bounded
        mesh.registry.revoke("node-1", "compromised host \u00e9t\u00e9 " + "z".repeat(2000));
        Decision.Deny revoked = assertInstanceOf(Decision.Deny.class,
                d.decide(MeshFixture.network(MeshFixture.envoyEncode(cert.leaf()), ""), List.of("default")));
        assertTrue(revoked.reason().startsWith("node 'node-1' is REVOKED: compromised host \u00e9t\u00e9 zzz"),
                revoked.reason());
        assertEquals(dev.attestmesh.authz.peer.UntrustedText.MAX_REASON_CHARS, revoked.reason().length());
    }
}
