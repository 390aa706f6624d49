package dev.attestmesh.perf.issuance;

import dev.attestmesh.agent.NodeKeyPair;
import dev.attestmesh.ca.AttestationBoundIssuer;
import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.ca.CsrRejectedException;
import dev.attestmesh.ca.CsrValidator;
import dev.attestmesh.ca.IssuedCertificate;
import dev.attestmesh.ca.MeshCa;
import dev.attestmesh.ca.SpiffeId;
import dev.attestmesh.ca.ValidatedCsr;
import dev.attestmesh.policy.PolicyRef;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerifiedEvidence;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import dev.attestmesh.quote.trust.EcdsaP256;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * Certificate issuance on one thread: the full path (CSR parse and signature check, profile, claims
 * extension, ECDSA P-256 signature, DER encoding) and, as its floor, the bare ECDSA P-256 signature
 * over a to-be-signed certificate of the same size.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class IssuanceBenchmark {
    private AttestationBoundIssuer issuer;
    private byte[] csr;
    private AttestationClaims claims;
    private SpiffeId id;
    private EcdsaP256.SigningKey bare;
    private byte[] tbs;

    @Setup
    public void setup() throws GeneralSecurityException {
        MeshCa ca = MeshCa.generate("attestmesh.local", Clock.systemUTC());
        issuer = new AttestationBoundIssuer(ca, Clock.systemUTC());
        csr = NodeKeyPair.generate().csrDer("bench-node");
        VerifiedEvidence ev = new VerifiedEvidence(TeeType.TDX, TcbStatus.UP_TO_DATE, List.of("INTEL-SA-00615"), false,
                false, new byte[64], Map.of("mrtd", "91".repeat(48), "rtmr0", "44".repeat(48), "rtmr1", "00".repeat(48),
                        "mrseam", "5b".repeat(48)), Map.of("pcesvn", 11L), new byte[32], Optional.of("b0c06f000000"),
                Optional.of("sgx-ppid:" + "5a".repeat(16)));
        claims = AttestationClaims.of("bench-node", ev, List.of(new PolicyRef("default", 3),
                new PolicyRef("production", 1)), Instant.now());
        id = SpiffeId.forNode("attestmesh.local", "bench-node");
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        KeyPair kp = g.generateKeyPair();
        bare = EcdsaP256.signingKey(kp.getPrivate()).orElseThrow();
        IssuedCertificate sample = issuer.issue(validate(csr), id, claims, Duration.ofHours(1));
        tbs = sample.leaf().getTBSCertificate();
    }

    private static ValidatedCsr validate(byte[] der) {
        try {
            return CsrValidator.validate(der);
        } catch (CsrRejectedException e) {
            throw new IllegalStateException(e);
        }
    }

    /** CSR check + issue + encode: what the control plane does per certificate. */
    @Benchmark
    public byte[] issue() throws Exception {
        return issuer.issue(CsrValidator.validate(csr), id, claims, Duration.ofHours(1)).leaf().getEncoded();
    }

    /**
     * The floor: one ECDSA P-256 signature over a TBS certificate of the same size, with the signing
     * primitive the issuer uses ({@link EcdsaP256.SigningKey}).
     */
    @Benchmark
    public byte[] bareSign() {
        return bare.signDer(tbs);
    }
}
