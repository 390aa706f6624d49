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
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.attestmesh.quote.sim.SimulatedEvidence;
import dev.attestmesh.quote.sim.SimulatedTee;
import dev.attestmesh.quote.sim.SimulatorKey;
import java.nio.charset.StandardCharsets;
import java.security.Signature;
import java.security.interfaces.RSAPublicKey;
import org.bouncycastle.asn1.pkcs.CertificationRequest;
import org.bouncycastle.math.ec.ECPoint;
import org.bouncycastle.asn1.sec.SECNamedCurves;
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
 *
 * <p>Also the signature floor of a whole attestation, the public-key operations the control plane
 * cannot avoid per Attest, with the primitives it uses: {@link #attestationSignatures} (CSR signature
 * check with the CSR's own, newly decoded key; simulated-evidence signature check; certificate
 * signature) and {@link #tokenSignature} (the RS256 check of a Kubernetes service-account token, in
 * Kubernetes mode). Parsing, appraisal, storage and transport are not part of the floor.
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
    private byte[] csrPointXy;
    private byte[] csrInfo;
    private byte[] csrSignature;
    private EcdsaP256.VerifyingKey simKey;
    private SimulatedEvidence evidence;
    private RSAPublicKey tokenKey;
    private byte[] tokenSigningInput;
    private byte[] tokenSignature;

    @Setup
    public void setup() throws GeneralSecurityException, java.io.IOException {
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

        CertificationRequest req = CertificationRequest.getInstance(csr);
        csrInfo = req.getCertificationRequestInfo().getEncoded("DER");
        csrSignature = req.getSignature().getOctets();
        ECPoint q = SECNamedCurves.getByName("secp256r1").getCurve()
                .decodePoint(req.getCertificationRequestInfo().getSubjectPublicKeyInfo().getPublicKeyData().getOctets())
                .normalize();
        csrPointXy = new byte[64];
        System.arraycopy(q.getAffineXCoord().getEncoded(), 0, csrPointXy, 0, 32);
        System.arraycopy(q.getAffineYCoord().getEncoded(), 0, csrPointXy, 32, 32);
        simKey = EcdsaP256.fromPublicKey(SimulatorKey.derive(SimulatorKey.DEFAULT_SEED).getPublic()).orElseThrow();
        try {
            evidence = SimulatedEvidence.parse(SimulatedTee.withMeasurementHex("a1".repeat(48)).collect(new byte[64]));
            RSAKey rsa = new RSAKeyGenerator(2048).keyID("floor").generate();
            SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID("floor").build(),
                    new JWTClaimsSet.Builder().issuer("https://kubernetes.default.svc.cluster.local")
                            .subject("system:serviceaccount:perf:api").audience("attestmesh")
                            .claim("pod", "p".repeat(700)).build()); // about the size of a projected token
            jwt.sign(new RSASSASigner(rsa));
            tokenKey = rsa.toRSAPublicKey();
            String[] parts = jwt.serialize().split("\\.");
            tokenSigningInput = (parts[0] + "." + parts[1]).getBytes(StandardCharsets.US_ASCII);
            tokenSignature = jwt.getSignature().decode();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
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

    /**
     * Floor of an attestation's signature work: CSR signature check (key decoded from its point, as
     * the CSR validator does), simulated-evidence signature check, certificate signature.
     */
    @Benchmark
    public byte[] attestationSignatures() {
        EcdsaP256.VerifyingKey csrKey = EcdsaP256.fromRaw(csrPointXy).orElseThrow();
        if (!EcdsaP256.verifyDer(csrKey, csrInfo, csrSignature)
                || !EcdsaP256.verifyDer(simKey, evidence.signedBytes(), evidence.signature())) {
            throw new IllegalStateException("floor signatures must verify");
        }
        return bare.signDer(tbs);
    }

    /** Floor of a service-account token check: one RS256 (RSA 2048, PKCS#1 v1.5) verification, JDK provider. */
    @Benchmark
    public boolean tokenSignature() throws GeneralSecurityException {
        Signature v = Signature.getInstance("SHA256withRSA");
        v.initVerify(tokenKey);
        v.update(tokenSigningInput);
        if (!v.verify(tokenSignature)) {
            throw new IllegalStateException("floor token signature must verify");
        }
        return true;
    }
}
