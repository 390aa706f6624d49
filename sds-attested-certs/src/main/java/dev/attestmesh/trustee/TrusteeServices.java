package dev.attestmesh.trustee;

import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.policy.DelegatedVerifier;
import dev.attestmesh.quote.TeeType;
import java.net.URI;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The attestation services this control plane delegates to ({@code verifier: trustee} policies), each
 * with its client and token verifier. {@link #none()} trusts none: a trustee policy is then refused
 * at every attestation with {@link EarCheck#NOT_CONFIGURED}. The address's scheme chooses the AS API
 * ({@link AttestationServiceApi}). Thread-safe.
 */
public final class TrusteeServices implements AutoCloseable {
    private record Entry(AttestationServiceApi client, EarTokenVerifier tokens) {}

    private final Map<URI, Entry> byAddress;

    private TrusteeServices(Map<URI, Entry> byAddress) {
        this.byAddress = Map.copyOf(byAddress);
    }

    public static TrusteeServices none() {
        return new TrusteeServices(Map.of());
    }

    /** Each service with its own TLS trust, the shared limits and token timing. */
    public static TrusteeServices of(List<TrusteeService> services, AttestationServiceClient.Limits limits,
            EarTokenVerifier.Timing timing) {
        Map<URI, Entry> m = new LinkedHashMap<>();
        for (TrusteeService s : services) {
            if (m.containsKey(s.address())) {
                m.values().forEach(e -> e.client().close());
                throw new IllegalArgumentException("attestation service " + s.address() + " is configured twice");
            }
            AttestationServiceApi api = AttestationServiceApi.isGrpc(s.address())
                    ? GrpcAttestationServiceClient.create(s.address(), s.ca(), limits)
                    : AttestationServiceClient.create(s.ca(), limits);
            m.put(s.address(), new Entry(api, new EarTokenVerifier(s.tokenKey(), Set.of(EarTokenVerifier.TRUSTEE_PROFILE,
                    EarTokenVerifier.VERAISON_PROFILE), timing)));
        }
        return new TrusteeServices(m);
    }

    /** The configured addresses, which policies' {@code asAddr} must be one of. */
    public Set<URI> addresses() {
        return byAddress.keySet();
    }

    /**
     * Sends the evidence to the AS {@code verifier} names and verifies its token.
     *
     * @param reportData this attestation's 64-byte report data binding, sent as raw runtime data
     */
    public EarAppraisal appraise(DelegatedVerifier verifier, TeeType tee, byte[] evidence, byte[] reportData,
            Instant now) throws EarRejectedException {
        Entry e = byAddress.get(verifier.asAddr());
        if (e == null) {
            throw new EarRejectedException(EarCheck.NOT_CONFIGURED, "attestation service "
                    + UntrustedText.forLog(verifier.asAddr().toString(), 120) + " is not configured on this control "
                    + "plane (attestmesh.trustee.services)");
        }
        String token = e.client().attest(verifier.asAddr(), tee, evidence, reportData, verifier.policyIds());
        return e.tokens().verify(token, tee, reportData, now);
    }

    /** Whether a service is configured at {@code address}. */
    public boolean trusts(URI address) {
        return byAddress.containsKey(address);
    }

    /** Closes every AS client (the gRPC channels). */
    @Override
    public void close() {
        byAddress.values().forEach(e -> e.client().close());
    }

    @Override
    public String toString() {
        return "TrusteeServices" + byAddress.keySet();
    }
}
