package dev.attestmesh.server.attest;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import dev.attestmesh.admission.AdmissionRefusedException;
import dev.attestmesh.admission.AdmissionRequest;
import dev.attestmesh.admission.AdmittedNode;
import dev.attestmesh.admission.AttestationAdmission;
import dev.attestmesh.admission.NonceStore;
import dev.attestmesh.admission.challenge.ChallengeGate;
import dev.attestmesh.admission.challenge.ChallengeLimitException;
import dev.attestmesh.api.v1.AttestRequest;
import dev.attestmesh.api.v1.AttestResponse;
import dev.attestmesh.api.v1.AttestationServiceGrpc;
import dev.attestmesh.api.v1.ChallengeRequest;
import dev.attestmesh.api.v1.ChallengeResponse;
import dev.attestmesh.api.v1.Claims;
import dev.attestmesh.api.v1.RegistryEvent;
import dev.attestmesh.api.v1.WatchRegistryRequest;
import dev.attestmesh.ca.AttestationClaims;
import dev.attestmesh.ca.AttestationClaimsProto;
import dev.attestmesh.ca.IssuedCertificate;
import dev.attestmesh.ca.SpiffeId;
import dev.attestmesh.identity.KubernetesIdentity;
import dev.attestmesh.identity.ServiceAccountTokenVerifier;
import dev.attestmesh.identity.TokenRejectedException;
import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.server.registration.RegistrationRegistry;
import dev.attestmesh.server.store.Database;
import dev.attestmesh.server.store.StoreException;
import dev.attestmesh.server.watch.RegistryWatchService;
import dev.attestmesh.server.xds.AttestedStreamCallbacks;
import dev.attestmesh.server.xds.PeerCertificateInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code attestmesh.v1.AttestationService}: Challenge, Attest and WatchRegistry (DESIGN.md section 3).
 * It only translates the protocol: request shapes and sizes are checked here, a presented
 * service-account token is verified and bound into the nonce, and Attest runs {@link
 * AttestationAdmission} (nonce, CSR, node id, evidence, appraisal, identity, revocation, issue, record),
 * whose refusals map onto gRPC statuses with their reasons.
 */
public final class AttestationGrpcService extends AttestationServiceGrpc.AttestationServiceImplBase {
    private static final Logger LOG = LoggerFactory.getLogger(AttestationGrpcService.class);
    static final int MAX_EVIDENCE_BYTES = 64 * 1024;
    static final int MAX_CSR_BYTES = 8 * 1024;
    static final int MAX_COLLATERAL_BYTES = 1024 * 1024;
    static final int MAX_TOKEN_CHARS = 16 * 1024;
    /** The longest SPIFFE ID any registration can grant: a longer request can name none. */
    static final int MAX_SPIFFE_ID_CHARS = RegistrationRegistry.MAX_SPIFFE_ID_CHARS;

    /** What a caller is told when the store fails: the request got no certificate, and it may retry. */
    static final String STORE_UNAVAILABLE = "the control plane's state store is unavailable; no certificate was "
            + "issued to this request; retry shortly (with another replica if there is one)";

    /** At most one log line per this interval for Challenges refused by a limit (floods must not flood the log). */
    private static final long REFUSAL_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final ChallengeGate challenges;
    private final AttestationAdmission admission;
    private final ServiceAccountTokenVerifier tokens;
    private final Supplier<List<X509Certificate>> trustBundle;
    /** The DER of the issuing chain and of the trust bundle, as last answered ({@link #encodedOnce}). */
    private final java.util.concurrent.atomic.AtomicReference<EncodedCertificates> lastIssuers =
            new java.util.concurrent.atomic.AtomicReference<>();
    private final java.util.concurrent.atomic.AtomicReference<EncodedCertificates> lastBundle =
            new java.util.concurrent.atomic.AtomicReference<>();
    private final AttestationMetrics metrics;
    private final Optional<RegistryWatchService> registryWatch;
    private final AtomicLong limitRefusals = new AtomicLong();
    private final AtomicLong storeFailures = new AtomicLong();
    private final AtomicLong lastStoreFailureLog = new AtomicLong(System.nanoTime() - REFUSAL_LOG_INTERVAL_NANOS);
    private final AtomicLong lastRefusalLog = new AtomicLong(System.nanoTime() - REFUSAL_LOG_INTERVAL_NANOS);

    /**
     * @param challenges issues nonces within the Challenge limits (lanes, rate limits, caps)
     * @param registryWatch serves {@code WatchRegistry}; when empty the RPC answers UNIMPLEMENTED
     */
    private final Database store;
    /** The last refusals with their reasons, for the web console (bounded, in memory). */
    private final RecentRefusals refusals;

    public AttestationGrpcService(ChallengeGate challenges, AttestationAdmission admission,
            ServiceAccountTokenVerifier tokens, Supplier<List<X509Certificate>> trustBundle, AttestationMetrics metrics,
            Optional<RegistryWatchService> registryWatch, Database store, RecentRefusals refusals) {
        this.store = store;
        this.refusals = refusals;
        this.challenges = challenges;
        this.admission = admission;
        this.tokens = tokens;
        this.trustBundle = trustBundle;
        this.metrics = metrics;
        this.registryWatch = registryWatch;
    }

    @Override
    public void challenge(ChallengeRequest request, StreamObserver<ChallengeResponse> out) {
        try {
            String peer = PeerAddressKey.of(PeerCertificateInterceptor.currentPeerAddress());
            Optional<String> peerCertificate = PeerCertificateInterceptor.currentPeerChain()
                    .map(chain -> AttestedStreamCallbacks.sha256Hex(chain[0]));
            // The gate applies an anonymous caller's rate limits before the request is resolved (token verified).
            NonceStore.Issued issued = challenges.issue(peer, peerCertificate, () -> subject(request));
            out.onNext(ChallengeResponse.newBuilder().setNonce(ByteString.copyFrom(issued.nonce()))
                    .setExpiresAt(timestamp(issued.expiresAt())).setNodeId(issued.nodeId()).build());
            out.onCompleted();
        } catch (ChallengeLimitException e) {
            logLimitRefusal(e);
            out.onError(Status.RESOURCE_EXHAUSTED.withDescription(e.getMessage()).asRuntimeException());
        } catch (StatusRuntimeException e) {
            // A challenge names no TEE yet; rate-limit refusals above are not kept (a flood would push out the rest).
            refusals.record(request.getNodeId(), "", "challenge " + e.getStatus().getCode().name(),
                    e.getStatus().getDescription());
            LOG.info("challenge refused ({}): {}", e.getStatus().getCode(), logged(e.getStatus()));
            out.onError(e);
        } catch (RuntimeException e) {
            if (storeFailure(e)) {
                logStoreFailure("challenge", e);
                out.onError(Status.UNAVAILABLE.withDescription("the control plane's state store is unavailable; no "
                        + "challenge was issued; retry shortly (with another replica if there is one)").asRuntimeException());
                return;
            }
            LOG.error("challenge failed internally for node '{}'", safe(request.getNodeId()), e);
            out.onError(Status.UNAVAILABLE.withDescription("cannot issue a challenge now (see the control plane "
                    + "log); retry shortly").asRuntimeException());
        }
    }

    /** Logs the first Challenge refused by a limit, then at most one line per interval with the count. */
    private void logLimitRefusal(ChallengeLimitException e) {
        limitRefusals.incrementAndGet();
        long last = lastRefusalLog.get();
        long now = System.nanoTime();
        if (now - last >= REFUSAL_LOG_INTERVAL_NANOS && lastRefusalLog.compareAndSet(last, now)) {
            LOG.warn("Challenge refused by {}: {} ({} refused by limits since the previous line; at most one line "
                    + "per {} s)", e.limit(), e.getMessage(), limitRefusals.getAndSet(0),
                    TimeUnit.NANOSECONDS.toSeconds(REFUSAL_LOG_INTERVAL_NANOS));
        }
    }

    /** The node id a Challenge asks for: as given, or the pod UID of a verified service-account token. */
    private ChallengeGate.Subject subject(ChallengeRequest request) {
        String nodeId = request.getNodeId();
        Optional<KubernetesIdentity> workload = Optional.empty();
        if (!request.getServiceAccountToken().isEmpty()) {
            workload = Optional.of(verifyToken(request.getServiceAccountToken()));
            String podUid = workload.get().podUid();
            if (!nodeId.isEmpty() && !nodeId.equals(podUid)) {
                throw Status.PERMISSION_DENIED.withDescription("node_id '" + safe(nodeId) + "' is not the pod UID "
                        + "the service-account token is bound to; a Kubernetes workload's node id is its pod UID "
                        + "(leave node_id empty)").asRuntimeException();
            }
            nodeId = podUid;
        }
        requireNodeId(nodeId);
        return new ChallengeGate.Subject(nodeId, workload);
    }

    private KubernetesIdentity verifyToken(String token) {
        if (token.length() > MAX_TOKEN_CHARS) {
            throw Status.INVALID_ARGUMENT.withDescription("service_account_token is " + token.length()
                    + " characters, more than the limit of " + MAX_TOKEN_CHARS).asRuntimeException();
        }
        try {
            return tokens.verify(token);
        } catch (TokenRejectedException e) {
            throw Status.UNAUTHENTICATED.withDescription("service-account token refused: " + e.getMessage())
                    .asRuntimeException();
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
        // Set by doAttest when admission refuses; a refusal before admission is the request's own fault.
        Refusal[] refusal = {new Refusal(AttestationFailureReason.REQUEST, Optional.empty())};
        try {
            AttestResponse response = doAttest(request, refusal);
            metrics.attestation(tee, "accepted", System.nanoTime() - started);
            metrics.certificateIssued();
            out.onNext(response);
            out.onCompleted();
        } catch (StatusRuntimeException e) {
            metrics.attestation(tee, e.getStatus().getCode().name().toLowerCase(), System.nanoTime() - started);
            metrics.failure(refusal[0].reason(), refusal[0].check());
            refusals.record(request.getNodeId(), AttestationMetrics.knownTeeOrInvalid(tee), e.getStatus().getCode().name(),
                    e.getStatus().getDescription());
            LOG.info("attestation refused for node '{}' ({}, {}): {}", safe(request.getNodeId()), e.getStatus().getCode(),
                    refusal[0].label(), logged(e.getStatus()));
            out.onError(e);
        } catch (RuntimeException e) {
            if (storeFailure(e)) {
                // The store is down or unreachable (PostgreSQL stopped, pool exhausted): fail closed with a status
                // that clients retry. Each store write is one transaction, so nothing is half-applied and no
                // certificate is answered; at worst a signed certificate's log entry exists without its node
                // record (the log is written first), and such a certificate was never delivered.
                metrics.attestation(tee, "unavailable", System.nanoTime() - started);
                metrics.failure(AttestationFailureReason.STORE_UNAVAILABLE, Optional.empty());
                logStoreFailure("attestation", e);
                out.onError(Status.UNAVAILABLE.withDescription(STORE_UNAVAILABLE).asRuntimeException());
                return;
            }
            metrics.attestation(tee, "internal", System.nanoTime() - started);
            metrics.failure(AttestationFailureReason.INTERNAL, Optional.empty());
            LOG.error("attestation failed internally for node '{}'", safe(request.getNodeId()), e);
            out.onError(Status.INTERNAL.withDescription("internal error while attesting; see control plane log")
                    .asRuntimeException());
        }
    }

    /** Why an Attest was refused, in the metric's closed vocabulary. */
    private record Refusal(AttestationFailureReason reason, Optional<dev.attestmesh.quote.VerificationCheck> check) {
        String label() {
            return "reason=" + reason.label() + check.map(c -> ", check=" + c.name().toLowerCase(java.util.Locale.ROOT))
                    .orElse("");
        }
    }

    /**
     * Logs a call that failed closed because the store failed: the first at once, then at most one line per
     * interval with the count, so an outage under load does not flood the log.
     */
    private void logStoreFailure(String call, RuntimeException e) {
        storeFailures.incrementAndGet();
        long last = lastStoreFailureLog.get();
        long now = System.nanoTime();
        if (now - last >= REFUSAL_LOG_INTERVAL_NANOS && lastStoreFailureLog.compareAndSet(last, now)) {
            LOG.warn("{} failed closed with UNAVAILABLE: the state store is unavailable ({}); {} Challenge/Attest "
                    + "call(s) failed so since the previous line (at most one line per {} s)", call,
                    UntrustedText.fit(String.valueOf(e.getMessage()), 512), storeFailures.getAndSet(0),
                    TimeUnit.NANOSECONDS.toSeconds(REFUSAL_LOG_INTERVAL_NANOS));
        }
    }

    /** True when {@code e} was caused by the state store ({@link StoreException} anywhere in its causes). */
    static boolean storeFailure(Throwable e) {
        int depth = 0;
        for (Throwable t = e; t != null && depth < 16; t = t.getCause(), depth++) {
            if (t instanceof StoreException) {
                return true;
            }
        }
        return false;
    }

    private AttestResponse doAttest(AttestRequest request, Refusal[] refusal) {
        String nodeId = request.getNodeId();
        requireNodeId(nodeId);
        TeeType tee;
        try {
            tee = TeeType.fromWireName(request.getTee());
        } catch (IllegalArgumentException e) {
            throw invalid("unknown TEE type '" + UntrustedText.forLog(request.getTee(), 16) + "'; expected one of "
                    + String.join(", ", java.util.Arrays.stream(TeeType.values()).map(TeeType::wireName).toList()));
        }
        requireSize("evidence", request.getEvidence().size(), 1, MAX_EVIDENCE_BYTES);
        requireSize("csr", request.getCsr().size(), 1, MAX_CSR_BYTES);
        requireSize("collateral", request.getCollateral().size(), 0, MAX_COLLATERAL_BYTES);
        if (!request.getNamespace().isEmpty() || !request.getServiceAccount().isEmpty()) {
            throw invalid("namespace and service_account are no longer accepted: an identity comes from a "
                    + "registration, and a Kubernetes service account from a token sent with the Challenge "
                    + "(docs/identity.md); ask for an identity with spiffe_id");
        }
        if (request.getSpiffeId().length() > MAX_SPIFFE_ID_CHARS) {
            throw invalid("spiffe_id is " + request.getSpiffeId().length() + " characters long; at most "
                    + MAX_SPIFFE_ID_CHARS + " are accepted");
        }
        if (!request.getSpiffeId().isEmpty()) {
            try {
                SpiffeId.parse(request.getSpiffeId());
            } catch (IllegalArgumentException e) {
                throw invalid("spiffe_id is not a SPIFFE ID: " + e.getMessage());
            }
        }
        Optional<String> peer = PeerCertificateInterceptor.currentPeerChain()
                .map(chain -> AttestedStreamCallbacks.sha256Hex(chain[0]));
        byte[] collateral = request.getCollateral().toByteArray();
        AdmissionRequest admissionRequest = new AdmissionRequest(nodeId, tee, request.getEvidence().toByteArray(),
                request.getCsr().toByteArray(), request.getNonce().toByteArray(),
                collateral.length == 0 ? Optional.empty() : Optional.of(collateral),
                request.getSpiffeId().isEmpty() ? Optional.empty() : Optional.of(request.getSpiffeId()), peer);
        AdmittedNode admitted;
        try {
            // One group write of the embedded store covers the log entry and the record before the answer.
            admitted = store.writtenOnReturn(() -> admission.admit(admissionRequest));
        } catch (AdmissionRefusedException e) {
            refusal[0] = new Refusal(AttestationFailureReason.of(e.stage()), e.check());
            throw status(e).withDescription(e.getMessage()).asRuntimeException();
        }
        IssuedCertificate cert = admitted.certificate();
        Instant renewAfter = cert.notBefore().plus(Duration.between(cert.notBefore(), cert.notAfter()).dividedBy(2));
        LOG.info("node '{}' attested ({}{}), certificate {} for {} (registration '{}') until {}, policies {}", nodeId,
                tee.wireName(), admitted.evidence().insecure() ? ", INSECURE simulated evidence" : "",
                cert.serial().toString(16), admitted.spiffeId(), admitted.registration(), cert.notAfter(),
                admitted.satisfiedPolicies());
        return AttestResponse.newBuilder()
                .addCertChain(ByteString.copyFrom(cert.leafDer()))
                .addAllCertChain(encodedOnce(cert.issuers(), lastIssuers))
                .addAllTrustBundle(encodedOnce(trustBundle.get(), lastBundle))
                .setClaims(toProto(admitted.claims(), SpiffeId.parse(admitted.spiffeId()), admitted.registration()))
                .setExpiresAt(timestamp(cert.notAfter()))
                .setRenewAfter(timestamp(renewAfter))
                .build();
    }

    private static Status status(AdmissionRefusedException e) {
        return switch (e.kind()) {
            case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
            case FAILED_PRECONDITION -> Status.FAILED_PRECONDITION;
            case PERMISSION_DENIED -> Status.PERMISSION_DENIED;
            case RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
            case UNAVAILABLE -> Status.UNAVAILABLE;
        };
    }

    static Claims toProto(AttestationClaims c, SpiffeId id, String registration) {
        return AttestationClaimsProto.of(c, id.uri()).toBuilder().setRegistration(registration).build();
    }

    private static void requireNodeId(String nodeId) {
        if (!SpiffeId.isNodeId(nodeId)) {
            throw invalid("node_id '" + safe(nodeId) + "' must be " + SpiffeId.NODE_ID_RULE);
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

    /** Caller-supplied text fit for a log line or a status description. */
    static String safe(String s) {
        return UntrustedText.forLog(s);
    }

    /**
     * A refusal's description as logged: one line, bounded. Descriptions quote caller values only
     * through {@link #safe}, but refusals from deeper stages (evidence parsers, identity) are composed
     * far from here.
     */
    private static String logged(Status status) {
        return UntrustedText.fit(String.valueOf(status.getDescription()), 2048);
    }

    /**
     * The DER of {@code certs}, encoded once per distinct list: the intermediate and the trust bundle are the
     * same in every answer until the CA rotates (compared by content, so a rotation is seen at once).
     */
    private static List<ByteString> encodedOnce(List<X509Certificate> certs,
            java.util.concurrent.atomic.AtomicReference<EncodedCertificates> slot) {
        EncodedCertificates last = slot.get();
        if (last != null && last.certs().equals(certs)) {
            return last.der();
        }
        EncodedCertificates next = new EncodedCertificates(List.copyOf(certs),
                certs.stream().map(AttestationGrpcService::der).toList());
        slot.set(next);
        return next.der();
    }

    private record EncodedCertificates(List<X509Certificate> certs, List<ByteString> der) {}

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
