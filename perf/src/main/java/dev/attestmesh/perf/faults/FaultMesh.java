package dev.attestmesh.perf.faults;

import dev.attestmesh.agent.NodeAgent;
import dev.attestmesh.ca.CsrValidator;
import dev.attestmesh.ca.IssuedCertificate;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.ca.ReservedClientCertificateIssuer;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.server.ControlPlane;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Clock;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * What every fault scenario's mesh shares: one policy accepting the simulated TEE with {@link #MEASUREMENT}, one
 * registration granting {@code spiffe://attestmesh.local/node/<node id>}, and node agents attesting with it. The
 * control planes run in dev mode (the simulated TEE), on loopback only.
 */
public final class FaultMesh {
    /** The simulated measurement the policy accepts. */
    public static final String MEASUREMENT = "a1".repeat(48);
    public static final String POLICY = "default";
    public static final String POLICIES = """
            policies:
              - id: default
                tee: [sim]
                reference:
                  sim:
                    measurement: ["%s"]
            """.formatted(MEASUREMENT);
    public static final String REGISTRATIONS = """
            registrations:
              - id: nodes
                spiffeId: spiffe://attestmesh.local/node/{nodeId}
                policies: [default]
            """;

    private FaultMesh() {}

    /** Writes {@code policies.yaml} and {@code registrations.yaml} into {@code dir}. */
    public static void writeFiles(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("policies.yaml"), POLICIES);
        Files.writeString(dir.resolve("registrations.yaml"), REGISTRATIONS);
    }

    /** The SPIFFE ID the registration grants {@code nodeId}. */
    public static String spiffeId(String nodeId) {
        return "spiffe://attestmesh.local/node/" + nodeId;
    }

    /** An operator-issued replica certificate chain and its private key, both PEM. */
    public record ReplicaCredentials(String chainPem, String keyPem) {}

    /**
     * A replica certificate for {@code name} (a new P-256 key, valid one day) straight from {@code cp}'s mesh CA, as
     * {@code attestmesh ca issue-client --replica NAME} has it issued.
     */
    public static ReplicaCredentials issueReplica(ControlPlane cp, String name)
            throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair kp = g.generateKeyPair();
        byte[] csr = new JcaPKCS10CertificationRequestBuilder(
                new X500Name("CN=" + name), kp.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withECDSA")
                        .build(kp.getPrivate())).getEncoded();
        IssuedCertificate issued = ReservedClientCertificateIssuer.issue(
                cp.meshCa(), CsrValidator.validate(csr),
                ReservedClientCertificateIssuer.Kind.REPLICA, name, Duration.ofDays(1),
                Clock.systemUTC());
        return new ReplicaCredentials(Pem.certificates(issued.chain()),
                Pem.privateKey(kp.getPrivate()));
    }

    /** A node agent (new key) for {@code nodeId}, writing its files under {@code dir/nodes}. */
    public static NodeAgent agent(String target, List<X509Certificate> caBundle, Path dir, String nodeId) {
        return new NodeAgent(new NodeAgent.Settings(nodeId, target, caBundle, dir.resolve("nodes").resolve(nodeId),
                Optional.empty(), Optional.empty()), SimulatedTee.withMeasurementHex(MEASUREMENT), Clock.systemUTC());
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Removes {@code dir} and everything in it, best effort. */
    public static void delete(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // A temporary directory left behind costs only space.
        }
    }

    /** Milliseconds since {@code t0} (both {@link System#nanoTime()}). */
    public static long millisSince(long t0, long t) {
        return (t - t0) / 1_000_000;
    }
}
