package dev.attestmesh.server.attest;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestResponse;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.api.v1.ChallengeResponse;
import dev.attestmesh.api.v1.Claims;
import dev.attestmesh.api.v1.PolicyRef;
import dev.attestmesh.api.v1.RegistryEvent;
import dev.attestmesh.api.v1.WatchRegistryRequest;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.ca.AttestationClaimsProto;
import dev.attestmesh.ca.CsrRejectedException;
import dev.attestmesh.ca.CsrValidator;
import dev.attestmesh.ca.IssuedCertificate;
import dev.attestmesh.ca.Pem;
import dev.attestmesh.ca.SpiffeId;
import dev.attestmesh.ca.ValidatedCsr;
import dev.attestmesh.issuance.IssuanceLog;
import dev.attestmesh.issuance.ReportDataBinding;
import dev.attestmesh.policy.Appraisal;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.policy.PolicyAppraiser;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.EvidenceVerifiers;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.server.ca.MeshCaHolder;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.registry.NodeRegistry;
import dev.attestmesh.server.xds.AttestedStreamCallbacks;
import dev.attestmesh.server.xds.PeerCertificateInterceptor;
import dev.attestmesh.server.revocation.RevocationCheck;
import dev.attestmesh.server.revocation.RevocationSubject;
import dev.attestmesh.server.watch.RegistryWatchService;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.security.MessageDigest;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code attestmesh.v1.AttestationService}: Challenge and Attest (DESIGN.md section 3).
 *
 * <p>Attest checks, in order, and stops at the first failure with its own status and a reason that
 * names the problem: request shape and sizes; the nonce (issued here, unused, unexpired, for this node
 * id); the CSR; the node is not revoked; the evidence verifies; its report data binds the nonce and the
 * CSR key; at least one policy is satisfied. Only then is a certificate issued, logged, and recorded.
 * Nothing is stored for a refused request (the consumed nonce excepted).
 */
public final class AttestationGrpcService extends AttestationServiceGrpc.AttestationServiceImplBase {
    private static final Logger LOG = LoggerFactory.getLogger(AttestationGrpcService.class);
    private static final Pattern NODE_ID = Pattern.compile("[A-Za-z0-9._-]{1,128}");
    private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    static final int MAX_EVIDENCE_BYTES = 64 * 1024;
    static final int MAX_CSR_BYTES = 8 * 1024;
    static final int MAX_COLLATERAL_BYTES = 1024 * 1024;

    private final NonceStore nonces;
    private final EvidenceVerifiers verifiers;
    private final PolicyRegistry policies;
    private final PolicyAppraiser appraiser = new PolicyAppraiser();
    private final MeshCaHolder ca;
    private final IssuanceLog log;
    private final NodeRegistry registry;
    private final String trustDomain;
    private final Clock clock;
    private final AttestationMetrics metrics;
    private final RevocationCheck revocations;
    private final Optional<RegistryWatchService> registryWatch;

    public AttestationGrpcService(NonceStore nonces, EvidenceVerifiers verifiers, PolicyRegistry policies,
            MeshCaHolder ca, IssuanceLog log, NodeRegistry registry, String trustDomain, Clock clock,
            AttestationMetrics metrics) {
        this(nonces, verifiers, policies, ca, log, registry, trustDomain, clock, metrics, RevocationCheck.NONE,
                Optional.empty());
    }

    /**
     * As above, refusing (before issuing) every attestation that {@code revocations} matches.
     *
     * @param registryWatch serves {@code WatchRegistry}; when empty the RPC answers UNIMPLEMENTED
     */
    public AttestationGrpcService(NonceStore nonces, EvidenceVerifiers verifiers, PolicyRegistry policies,
            MeshCaHolder ca, IssuanceLog log, NodeRegistry registry, String trustDomain, Clock clock,
            AttestationMetrics metrics, RevocationCheck revocations, Optional<RegistryWatchService> registryWatch) {
        this.revocations = revocations;
        this.registryWatch = registryWatch;
        this.nonces = nonces;
        this.verifiers = verifiers;
        this.policies = policies;
        this.ca = ca;
        this.log = log;
        this.registry = registry;
        this.trustDomain = trustDomain;
        this.clock = clock;
        this.metrics = metrics;
    }

    @Override
    public void challenge(ChallengeRequest request, StreamObserver<ChallengeResponse> out) {
        try {
            requireNodeId(request.getNodeId());
            NonceStore.Issued issued;
            try {
                issued = nonces.issue(request.getNodeId());
            } catch (IllegalStateException e) {
                throw Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage()).asRuntimeException();
            }
            out.onNext(ChallengeResponse.newBuilder().setNonce(ByteString.copyFrom(issued.nonce()))
                    .setExpiresAt(timestamp(issued.expiresAt())).build());
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            out.onError(e);
        }
    }

    /** Delegates to the registry watch (mTLS replica identities only; see {@link RegistryWatchService}). */
    @Override
    public void watchRegistry(WatchRegistryRequest request, StreamObserver<RegistryEvent> out) {
        if (registryWatch.isEmpty()) {
            out.onError(Status.UNIMPLEMENTED.withDescription("this control plane does not serve WatchRegistry")
                    .asRuntimeException());
            return;
        }
        registryWatch.get().watch(request, out);
    }

    @Override
    public void attest(AttestRequest request, StreamObserver<AttestResponse> out) {
        long started = System.nanoTime();
        String tee = request.getTee();
        try {
            AttestResponse response = doAttest(request);
            metrics.attestation(tee, "accepted", System.nanoTime() - started);
            out.onNext(response);
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            metrics.attestation(tee, e.getStatus().getCode().name().toLowerCase(), System.nanoTime() - started);
            LOG.info("attestation refused for node '{}' ({}): {}", safe(request.getNodeId()), e.getStatus().getCode(),
                    e.getStatus().getDescription());
            out.onError(e);
        } catch (RuntimeException e) {
            metrics.attestation(tee, "internal", System.nanoTime() - started);
            LOG.error("attestation failed internally for node '{}'", safe(request.getNodeId()), e);
            out.onError(Status.INTERNAL.withDescription("internal error while attesting; see control plane log")
                    .asRuntimeException());
        }
    }

    private AttestResponse doAttest(AttestRequest request) {
        String nodeId = request.getNodeId();
        requireNodeId(nodeId);
        TeeType tee;
        try {
            tee = TeeType.fromWireName(request.getTee());
        } catch (IllegalArgumentException e) {
            throw invalid(e.getMessage());
        }
        requireSize("evidence", request.getEvidence().size(), 1, MAX_EVIDENCE_BYTES);
        requireSize("csr", request.getCsr().size(), 1, MAX_CSR_BYTES);
        requireSize("collateral", request.getCollateral().size(), 0, MAX_COLLATERAL_BYTES);
        Optional<SpiffeId> workload = workloadId(request);

        byte[] nonce = request.getNonce().toByteArray();
        Optional<NonceStore.Rejection> nonceProblem = nonces.consume(nodeId, nonce);
        if (nonceProblem.isPresent()) {
            throw Status.FAILED_PRECONDITION.withDescription("nonce rejected: " + nonceProblem.get().message())
                    .asRuntimeException();
        }

        ValidatedCsr csr;
        try {
            csr = CsrValidator.validate(request.getCsr().toByteArray());
        } catch (CsrRejectedException e) {
            throw invalid("CSR rejected: " + e.getMessage());
        }

        Optional<NodeEntry> existing = registry.entry(nodeId);
        if (existing.isPresent() && existing.get().state() == NodeState.REVOKED) {
            throw Status.PERMISSION_DENIED.withDescription("node '" + nodeId + "' is revoked ("
                    + existing.get().stateReason() + "); an operator must lift the revocation").asRuntimeException();
        }

        Instant now = clock.instant();
        VerifiedEvidence evidence;
        try {
            byte[] collateral = request.getCollateral().toByteArray();
            evidence = verifiers.verify(new VerificationRequest(tee, request.getEvidence().toByteArray(),
                    collateral.length == 0 ? Optional.empty() : Optional.of(collateral), now));
        } catch (EvidenceVerificationException e) {
            throw Status.PERMISSION_DENIED.withDescription("evidence rejected by check " + e.check() + ": "
                    + e.getMessage()).asRuntimeException();
        }

        byte[] expected = ReportDataBinding.expected(nonce, csr.subjectPublicKeyInfoDer());
        if (!MessageDigest.isEqual(expected, evidence.reportData())) {
            throw Status.PERMISSION_DENIED.withDescription("evidence report data does not bind this nonce and the "
                    + "CSR's public key (expected SHA-512(\"attestmesh-v1\" || nonce || SHA-256(CSR SPKI)))")
                    .asRuntimeException();
        }

        Collection<Policy> all = policies.all();
        if (all.isEmpty()) {
            throw Status.FAILED_PRECONDITION.withDescription("no policy is configured on the control plane; "
                    + "start it with --policy-file (see docs/policy.md)").asRuntimeException();
        }
        Appraisal appraisal = appraiser.appraise(evidence, now, all, now);
        List<dev.attestmesh.policy.PolicyRef> satisfied = appraisal.satisfied();
        if (satisfied.isEmpty()) {
            String why = "no policy satisfied: " + failures(appraisal, all);
            withdrawOnFailedRenewal(existing, why);
            throw Status.PERMISSION_DENIED.withDescription(why).asRuntimeException();
        }

        Optional<String> revoked = revocations.refusal(RevocationSubject.of(nodeId, evidence, satisfied));
        if (revoked.isPresent()) {
            throw Status.PERMISSION_DENIED.withDescription("attestation refused: " + revoked.get()).asRuntimeException();
        }

        List<Policy> satisfiedPolicies = satisfied.stream().map(r -> policies.get(r.id()).orElseThrow()).toList();
        Duration ttl = satisfiedPolicies.stream().map(Policy::certificateTtl).min(Comparator.naturalOrder())
                .orElseThrow();
        Duration maxAge = satisfiedPolicies.stream().map(Policy::maxEvidenceAge).min(Comparator.naturalOrder())
                .orElseThrow();
        SpiffeId spiffeId = workload.orElseGet(() -> SpiffeId.forNode(trustDomain, nodeId));
        AttestationClaims claims = AttestationClaims.of(nodeId, evidence, satisfied, now);
        IssuedCertificate cert = ca.issuer().issue(csr, spiffeId, claims, ttl);

        String serialHex = cert.serial().toString(16);
        log.append(serialHex, nodeId, spiffeId.uri(), evidence.evidenceSha256Hex(),
                satisfied.stream().map(dev.attestmesh.policy.PolicyRef::id).toList(), now);
        Map<String, Long> policyVersions = new LinkedHashMap<>();
        satisfied.forEach(r -> policyVersions.put(r.id(), r.version()));
        String previous = existing.filter(e -> e.state() == NodeState.ATTESTED && e.certNotAfter().isAfter(now))
                .map(NodeEntry::certSha256).orElse("");
        Instant evidenceExpires = now.plus(maxAge);
        registry.put(new NodeEntry(nodeId, spiffeId.uri(), tee, evidence.primaryMeasurement(), NodeState.ATTESTED,
                "attested", claims, policyVersions, Pem.certificates(cert.chain()), serialHex,
                HexFormat.of().formatHex(cert.sha256()), previous, cert.notAfter(), evidenceExpires, now, evidence));
        metrics.certificateIssued();

        Instant renewAfter = cert.notBefore().plus(Duration.between(cert.notBefore(), cert.notAfter()).dividedBy(2));
        LOG.info("node '{}' attested ({}{}), certificate {} for {} until {}, policies {}", nodeId, tee.wireName(),
                evidence.insecure() ? ", INSECURE simulated evidence" : "", serialHex, spiffeId.uri(), cert.notAfter(),
                policyVersions);
        return AttestResponse.newBuilder()
                .addAllCertChain(cert.chain().stream().map(AttestationGrpcService::der).toList())
                .addAllTrustBundle(ca.trustBundle().stream().map(AttestationGrpcService::der).toList())
                .setClaims(toProto(claims, spiffeId))
                .setExpiresAt(timestamp(cert.notAfter()))
                .setRenewAfter(timestamp(renewAfter))
                .build();
    }

    private static String failures(Appraisal appraisal, Collection<Policy> all) {
        return String.join("; ", all.stream().map(p -> appraisal.firstFailure(p.id())
                .orElse("policy '" + p.id() + "' not satisfied")).toList());
    }

    /**
     * A renewal is an Attest made over mTLS with the node's current certificate. When its fresh evidence
     * no longer satisfies any policy, the node's identity is withdrawn at once (ext_authz denies it, its
     * SDS snapshot is cleared) rather than left valid until the certificate expires. Only the holder of
     * the current certificate can cause this, so nobody else can withdraw a node by claiming its id.
     */
    private void withdrawOnFailedRenewal(Optional<NodeEntry> existing, String why) {
        if (existing.isEmpty() || existing.get().state() != NodeState.ATTESTED) {
            return;
        }
        NodeEntry e = existing.get();
        Optional<String> peer = PeerCertificateInterceptor.currentPeerChain()
                .map(chain -> AttestedStreamCallbacks.sha256Hex(chain[0]));
        if (peer.isPresent() && e.toAuthzRecord().certificateSha256Hex().contains(peer.get())) {
            registry.put(e.withState(NodeState.EXPIRED, "identity withdrawn: renewal refused, " + why));
            LOG.warn("node '{}' lost its identity: its renewal evidence no longer satisfies any policy", e.nodeId());
        }
    }

    static Claims toProto(AttestationClaims c, SpiffeId id) {
        return AttestationClaimsProto.of(c, id.uri());
    }

    private Optional<SpiffeId> workloadId(AttestRequest r) {
        boolean ns = !r.getNamespace().isEmpty();
        boolean sa = !r.getServiceAccount().isEmpty();
        if (ns != sa) {
            throw invalid("namespace and service_account must be given together (or neither)");
        }
        if (!ns) {
            return Optional.empty();
        }
        if (!DNS_LABEL.matcher(r.getNamespace()).matches() || !DNS_LABEL.matcher(r.getServiceAccount()).matches()) {
            throw invalid("namespace and service_account must be DNS labels ([a-z0-9-], at most 63 characters)");
        }
        return Optional.of(SpiffeId.forWorkload(trustDomain, r.getNamespace(), r.getServiceAccount()));
    }

    private static void requireNodeId(String nodeId) {
        if (!NODE_ID.matcher(nodeId).matches()) {
            throw invalid("node_id '" + safe(nodeId) + "' must be 1-128 characters of [A-Za-z0-9._-]");
        }
    }

    private static void requireSize(String field, int size, int min, int max) {
        if (size < min) {
            throw invalid(field + " is missing");
        }
        if (size > max) {
            throw invalid(field + " is " + size + " bytes, more than the limit of " + max);
        }
    }

    private static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }

    /** Truncates and strips control characters from caller-supplied text before it reaches a log. */
    static String safe(String s) {
        String t = s.length() > 128 ? s.substring(0, 128) + "..." : s;
        return t.replaceAll("\\p{Cntrl}", "?");
    }

    private static ByteString der(X509Certificate c) {
        try {
            return ByteString.copyFrom(c.getEncoded());
        } catch (CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    static Timestamp timestamp(Instant i) {
        return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
    }
}
