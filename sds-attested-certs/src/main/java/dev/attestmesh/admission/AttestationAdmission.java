package dev.attestmesh.admission;

import dev.attestmesh.admission.AdmissionRefusedException.Kind;
import dev.attestmesh.admission.AdmissionRefusedException.Stage;
import dev.attestmesh.ca.AttestationBoundIssuer;
import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.ca.CsrRejectedException;
import dev.attestmesh.ca.CsrValidator;
import dev.attestmesh.ca.IssuedCertificate;
import dev.attestmesh.ca.ValidatedCsr;
import dev.attestmesh.identity.IdentityDecision;
import dev.attestmesh.identity.IdentityResolver;
import dev.attestmesh.identity.Registration;
import dev.attestmesh.issuance.IssuanceLog;
import dev.attestmesh.issuance.ReportDataBinding;
import dev.attestmesh.policy.Appraisal;
import dev.attestmesh.policy.DelegatedVerifier;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.policy.PolicyAppraiser;
import dev.attestmesh.policy.PolicyRef;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.EvidenceVerifiers;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.trustee.DelegatedClaims;
import dev.attestmesh.trustee.EarAppraisal;
import dev.attestmesh.trustee.EarRejectedException;
import dev.attestmesh.trustee.TrusteeServices;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admission flow of an Attest call (DESIGN.md sections 3 and 5a), one stage after the other:
 * <ol>
 *   <li><b>nonce</b>: issued here, unused, unexpired, for this node id (consumed whatever follows);</li>
 *   <li><b>CSR</b>: well-formed, self-signed, P-256;</li>
 *   <li><b>node id</b>: not revoked, and not held by another key: an ATTESTED node id whose certificate
 *       has not expired is taken by a different key only over mTLS with that node's current certificate
 *       (a renewal); otherwise it waits for the record to expire or an operator to release it;</li>
 *   <li><b>evidence</b>: verifies, and its report data binds the nonce and the CSR key; for {@code verifier:
 *       trustee} policies a Trustee attestation service verifies it and its signed token must echo that
 *       binding (docs/trustee.md);</li>
 *   <li><b>appraisal</b> against every policy in force;</li>
 *   <li><b>identity</b>: the registration the caller asked for, or the one its claims satisfy, holds
 *       completely ({@link IdentityResolver});</li>
 *   <li><b>revocation</b> rules;</li>
 *   <li><b>issue</b> and <b>record</b>: the certificate is issued, appended to the issuance log and
 *       recorded in the registry.</li>
 * </ol>
 * Each refusal names its stage and the problem. A renewal (mTLS with the node's current certificate)
 * whose fresh evidence no longer earns its identity withdraws the identity at once. Thread-safe.
 */
public final class AttestationAdmission {
    private static final Logger LOG = LoggerFactory.getLogger(AttestationAdmission.class);

    private final NonceStore nonces;
    private final EvidenceVerifiers verifiers;
    private final Supplier<Collection<Policy>> policies;
    private final Supplier<Collection<Registration>> registrations;
    private final Supplier<AttestationBoundIssuer> issuer;
    private final IssuanceLog log;
    private final NodeRecords records;
    private final RevocationGate revocations;
    private final Clock clock;
    private final TrusteeServices trustee;
    private final EvidenceBinding binding;
    private final PolicyAppraiser appraiser = new PolicyAppraiser();
    private final IdentityResolver identities = new IdentityResolver();

    public AttestationAdmission(NonceStore nonces, EvidenceVerifiers verifiers, Supplier<Collection<Policy>> policies,
            Supplier<Collection<Registration>> registrations, Supplier<AttestationBoundIssuer> issuer, IssuanceLog log,
            NodeRecords records, RevocationGate revocations, Clock clock) {
        this(nonces, verifiers, policies, registrations, issuer, log, records, revocations, clock, TrusteeServices.none());
    }

    /** With the Trustee attestation services that {@code verifier: trustee} policies may name. */
    public AttestationAdmission(NonceStore nonces, EvidenceVerifiers verifiers, Supplier<Collection<Policy>> policies,
            Supplier<Collection<Registration>> registrations, Supplier<AttestationBoundIssuer> issuer, IssuanceLog log,
            NodeRecords records, RevocationGate revocations, Clock clock, TrusteeServices trustee) {
        this(nonces, verifiers, policies, registrations, issuer, log, records, revocations, clock, trustee,
                EvidenceBinding.reportData());
    }

    /**
     * With another binding check than the production one: the seam through which tests carry recorded
     * hardware evidence (which cannot bind a fresh nonce) through the rest of admission. Production code
     * uses the constructors above, which always check the report data ({@link EvidenceBinding#reportData()}).
     */
    public AttestationAdmission(NonceStore nonces, EvidenceVerifiers verifiers, Supplier<Collection<Policy>> policies,
            Supplier<Collection<Registration>> registrations, Supplier<AttestationBoundIssuer> issuer, IssuanceLog log,
            NodeRecords records, RevocationGate revocations, Clock clock, TrusteeServices trustee,
            EvidenceBinding binding) {
        this.binding = java.util.Objects.requireNonNull(binding, "binding");
        this.trustee = trustee;
        this.nonces = nonces;
        this.verifiers = verifiers;
        this.policies = policies;
        this.registrations = registrations;
        this.issuer = issuer;
        this.log = log;
        this.records = records;
        this.revocations = revocations;
        this.clock = clock;
    }

    /**
     * Runs every stage; on success the node is recorded and its certificate returned.
     *
     * @throws AdmissionRefusedException at the first stage that refuses
     */
    public AdmittedNode admit(AdmissionRequest request) throws AdmissionRefusedException {
        String nodeId = request.nodeId();
        NonceStore.Accepted challenge = switch (nonces.take(nodeId, request.nonce())) {
            case NonceStore.Accepted a -> a;
            case NonceStore.Rejection r -> throw new AdmissionRefusedException(Kind.FAILED_PRECONDITION, Stage.NONCE,
                    "nonce rejected: " + r.message());
        };

        ValidatedCsr csr;
        try {
            csr = CsrValidator.validate(request.csr());
        } catch (CsrRejectedException e) {
            throw new AdmissionRefusedException(Kind.INVALID_ARGUMENT, Stage.CSR, "CSR rejected: " + e.getMessage());
        }
        String keySha256 = sha256Hex(csr.subjectPublicKeyInfoDer());

        Instant now = clock.instant();
        Optional<NodeRecords.Standing> standing = records.standing(nodeId);
        boolean renewal = standing.isPresent() && request.peerCertificateSha256Hex()
                .filter(peer -> standing.get().acceptedCertificateSha256Hex().contains(peer)).isPresent();
        checkNodeId(nodeId, standing, keySha256, renewal, now);

        Collection<Policy> all = policies.get();
        if (all.isEmpty()) {
            throw new AdmissionRefusedException(Kind.FAILED_PRECONDITION, Stage.POLICY, "no policy is configured on "
                    + "the control plane; start it with --policy-file (see docs/policy.md)");
        }
        byte[] expected = ReportDataBinding.expected(request.nonce(), csr.subjectPublicKeyInfoDer());
        VerifiedEvidence evidence = verify(request, all, expected, now);
        Appraisal appraisal = appraiser.appraise(evidence, now, all, now);
        IdentityResolver.Subject subject = new IdentityResolver.Subject(nodeId, appraisal, challenge.kubernetes());
        IdentityDecision decision = identities.resolve(registrations.get(), subject, request.requestedSpiffeId(),
                (spiffeId, excluding) -> records.liveInstances(spiffeId, excluding, now));
        IdentityDecision.Granted granted = switch (decision) {
            case IdentityDecision.Granted g -> g;
            case IdentityDecision.Refused r -> {
                if (!r.operatorDetail().isEmpty()) {
                    LOG.info("node '{}' earns no identity: {}", nodeId, r.operatorDetail());
                }
                if (renewal && !r.ambiguous()) {
                    records.withdraw(nodeId, "identity withdrawn: renewal refused, " + r.reason());
                    LOG.warn("node '{}' lost its identity: its renewal evidence no longer earns it", nodeId);
                }
                throw new AdmissionRefusedException(r.ambiguous() ? Kind.FAILED_PRECONDITION : Kind.PERMISSION_DENIED,
                        Stage.IDENTITY, r.reason());
            }
        };

        Registration registration = granted.registration();
        List<PolicyRef> satisfied = appraisal.satisfied();
        Optional<String> revoked = revocations.refusal(nodeId, registration.id(), evidence, satisfied);
        if (revoked.isPresent()) {
            throw new AdmissionRefusedException(Kind.PERMISSION_DENIED, Stage.REVOCATION,
                    "attestation refused: " + revoked.get());
        }

        // The certificate names the policies the registration required plus any other satisfied ones, as
        // before; its lifetime and the evidence's are bounded by the strictest of them.
        List<Policy> held = all.stream().filter(p -> satisfied.stream().anyMatch(r -> r.id().equals(p.id()))).toList();
        Duration ttl = held.stream().map(Policy::certificateTtl).min(Comparator.naturalOrder()).orElseThrow();
        Duration maxAge = held.stream().map(Policy::maxEvidenceAge).min(Comparator.naturalOrder()).orElseThrow();
        AttestationClaims claims = AttestationClaims.of(nodeId, evidence, satisfied, now);
        IssuedCertificate cert = issuer.get().issue(csr, granted.spiffeId(), claims, ttl);
        Map<String, Long> versions = new LinkedHashMap<>();
        satisfied.forEach(r -> versions.put(r.id(), r.version()));
        log.append(cert.serial().toString(16), nodeId, granted.spiffeId().uri(), evidence.evidenceSha256Hex(),
                satisfied.stream().map(PolicyRef::id).toList(), now);
        AdmittedNode admitted = new AdmittedNode(nodeId, granted.spiffeId().uri(), registration.id(), evidence, claims,
                versions, cert, keySha256, challenge.kubernetes(), now.plus(maxAge), now);
        records.record(admitted);
        return admitted;
    }

    /**
     * The evidence stage: this control plane's verifiers, unless only {@code verifier: trustee} policies
     * accept the TEE type, and each attestation service those policies name (once per service and AS policy
     * IDs). Local verification refuses as before when no trustee policy applies; with trustee policies, the
     * attestation is refused only when no verification succeeded, naming every failure.
     */
    private VerifiedEvidence verify(AdmissionRequest request, Collection<Policy> all, byte[] expected, Instant now)
            throws AdmissionRefusedException {
        List<DelegatedVerifier> services = all.stream().filter(p -> p.tees().contains(request.tee()))
                .flatMap(p -> p.delegated().stream())
                .filter(distinctBy(DelegatedVerifier::claimPrefix)).toList();
        boolean localWanted = services.isEmpty() || all.stream()
                .anyMatch(p -> p.delegated().isEmpty() && p.tees().contains(request.tee()));
        Optional<VerifiedEvidence> local = Optional.empty();
        List<String> failures = new ArrayList<>();
        if (localWanted) {
            try {
                VerifiedEvidence v = verifiers.verify(new VerificationRequest(request.tee(), request.evidence(),
                        request.collateral(), now));
                if (!binding.binds(v, expected)) {
                    throw new AdmissionRefusedException(Kind.PERMISSION_DENIED, Stage.BINDING, "evidence report data "
                            + "does not bind this nonce and the CSR's public key (expected SHA-512(\"attestmesh-v1\" || "
                            + "nonce || SHA-256(CSR SPKI)))");
                }
                local = Optional.of(v);
            } catch (EvidenceVerificationException e) {
                if (services.isEmpty()) {
                    throw new AdmissionRefusedException(Kind.PERMISSION_DENIED, Stage.EVIDENCE,
                            Optional.of(e.check()), "evidence rejected by check " + e.check() + ": " + e.getMessage());
                }
                failures.add("local verification: check " + e.check() + ": " + e.getMessage());
            }
        }
        Map<String, EarAppraisal> appraisals = new LinkedHashMap<>();
        for (DelegatedVerifier d : services) {
            try {
                appraisals.put(d.claimPrefix(), trustee.appraise(d, request.tee(), request.evidence(), expected, now));
            } catch (EarRejectedException e) {
                LOG.info("node '{}': attestation service {} refused: {} {}", request.nodeId(), d.asAddr(), e.check(),
                        e.getMessage());
                failures.add("attestation service " + d.asAddr() + ": check " + e.check() + ": " + e.getMessage());
            }
        }
        if (local.isEmpty() && appraisals.isEmpty()) {
            throw new AdmissionRefusedException(Kind.PERMISSION_DENIED, Stage.EVIDENCE, "evidence rejected: "
                    + String.join("; ", failures));
        }
        if (appraisals.isEmpty()) {
            return local.orElseThrow();
        }
        byte[] digest;
        try {
            digest = MessageDigest.getInstance("SHA-256").digest(request.evidence());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return DelegatedClaims.combine(local, request.tee(), expected, digest, appraisals);
    }

    /** The binding check this admission applies (production: {@link EvidenceBinding#reportData()}). */
    public EvidenceBinding binding() {
        return binding;
    }

    private static <T> java.util.function.Predicate<T> distinctBy(java.util.function.Function<T, String> key) {
        java.util.Set<String> seen = new java.util.HashSet<>();
        return t -> seen.add(key.apply(t));
    }

    private static void checkNodeId(String nodeId, Optional<NodeRecords.Standing> standing, String keySha256,
            boolean renewal, Instant now) throws AdmissionRefusedException {
        if (standing.isEmpty()) {
            return;
        }
        NodeRecords.Standing s = standing.get();
        if (s.state() == NodeState.REVOKED) {
            throw new AdmissionRefusedException(Kind.PERMISSION_DENIED, Stage.NODE_ID, "node '" + nodeId
                    + "' is revoked (" + s.stateReason() + "); an operator must lift the revocation");
        }
        boolean held = s.state() == NodeState.ATTESTED && now.isBefore(s.certificateNotAfter());
        boolean sameKey = !s.keySha256Hex().isEmpty() && s.keySha256Hex().equals(keySha256);
        if (held && !sameKey && !renewal) {
            throw new AdmissionRefusedException(Kind.PERMISSION_DENIED, Stage.NODE_ID, "node id '" + nodeId
                    + "' is held by another key until " + s.certificateNotAfter() + "; renew over mTLS with the node's "
                    + "current certificate, wait until that certificate expires, or ask an operator to release the "
                    + "node id (attestmesh nodes release " + nodeId + ")");
        }
    }

    static String sha256Hex(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
