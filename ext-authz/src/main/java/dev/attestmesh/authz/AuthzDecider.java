package dev.attestmesh.authz;

import dev.attestmesh.registry.NodeState;
import io.envoyproxy.envoy.service.auth.v3.CheckRequest;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides Envoy ext_authz Checks on the peer's attestation, as DESIGN.md section 7 says: the required
 * policy IDs come from the route, the {@code x-attestmesh-policy-ids} header or the mesh config ({@link
 * RequiredPolicies}, which denies a destination this view does not know rather than require nothing of
 * its callers); with a peer certificate the peer chain must verify to the current trust bundle and
 * be a current certificate of its node ({@link CertificateDecider}), without one the decision is the
 * principal's, fail closed over all its live instances ({@link PrincipalDecider}); either way the node's
 * record must be {@link NodeState#ATTESTED}, unrevoked, fresh, not simulated (outside dev mode) and
 * satisfy every required policy at its current version ({@link RecordChecks}). Decisions are cached
 * ({@link DecisionCache}); a registry change drops the decisions that read what it changed (a node's record, a
 * principal's instances), a change of policies, trust bundle or mesh config drops them all.
 *
 * <p>Before any of that: a view that reports itself {@linkplain RegistryView#unavailableReason()
 * unavailable} (a standalone replica past its staleness limit) denies everything, and oversized input
 * ({@value #MAX_REQUEST_BYTES} bytes of request, {@value #MAX_CERTIFICATE_CHARS} bytes of certificate)
 * is denied with its size, never parsed.
 *
 * <p>Who may ask is not decided here: the gRPC binding admits only authenticated callers ({@link
 * CheckCallerAuthenticator}), so denial reasons, which name nodes and revocation reasons, reach mesh
 * Envoys only. {@link #decide} never throws. Thread-safe.
 */
public final class AuthzDecider {
    private static final Logger LOG = LoggerFactory.getLogger(AuthzDecider.class);
    /** Context extension key (and gRPC header) naming required policy IDs, comma-separated. */
    public static final String POLICY_IDS_KEY = "x-attestmesh-policy-ids";
    /** Largest CheckRequest decided on; Envoy's requests are a few KiB (one certificate, some headers). */
    public static final int MAX_REQUEST_BYTES = 256 * 1024;
    /** Largest URL-encoded peer certificate accepted, in bytes (it is ASCII); a mesh leaf is about 2.5 KiB encoded. */
    public static final int MAX_CERTIFICATE_CHARS = 64 * 1024;

    /**
     * How a decider is configured.
     *
     * @param decisionCacheSize bound of the decision cache in units of one decision per started KiB of
     *     its key (a decision for a 2.5 KiB URL-encoded certificate counts 3), so memory stays about
     *     {@code decisionCacheSize} KiB whatever peers send; 0 disables the cache (every check is decided
     *     afresh, as the load harness does to measure uncached decisions)
     * @param allowInsecure admit nodes attested with simulated-TEE evidence (claims marked {@code
     *     insecure}); true only in dev mode, since such evidence proves nothing
     */
    public record Settings(long decisionCacheSize, boolean allowInsecure) {
        /** The default cache bound: about 100 MiB. */
        public static final long DEFAULT_CACHE_SIZE = 100_000;

        public Settings {
            if (decisionCacheSize < 0) {
                throw new IllegalArgumentException("decision cache size must be >= 0, was " + decisionCacheSize);
            }
        }

        /** The default cache, simulated evidence denied. */
        public static Settings defaults() {
            return new Settings(DEFAULT_CACHE_SIZE, false);
        }

        /** These settings with simulated evidence admitted ({@code true}, dev mode) or denied. */
        public Settings withAllowInsecure(boolean allow) {
            return new Settings(decisionCacheSize, allow);
        }
    }

    private final RegistryView view;
    private final Clock clock;
    private final RequiredPolicies requiredPolicies;
    private final DecisionCache cache;
    private final CertificateDecider byCertificate;
    private final PrincipalDecider byPrincipal;
    private final java.util.concurrent.atomic.LongAdder fromCache = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder computed = new java.util.concurrent.atomic.LongAdder();

    /** A decider with a decision cache of {@code cacheMaximumSize} that denies simulated evidence. */
    public AuthzDecider(RegistryView view, Clock clock, long cacheMaximumSize) {
        this(view, clock, new Settings(cacheMaximumSize, false));
    }

    public AuthzDecider(RegistryView view, Clock clock, Settings settings) {
        this.view = view;
        this.clock = clock;
        this.requiredPolicies = new RequiredPolicies(view);
        this.cache = new DecisionCache(settings.decisionCacheSize());
        this.byCertificate = new CertificateDecider(view, settings.allowInsecure());
        this.byPrincipal = new PrincipalDecider(view, settings.allowInsecure());
        view.addTargetedChangeListener(cache::changed);
    }

    /**
     * Decisions answered from the cache so far. With {@link #computedDecisions()} it gives the cache's hit ratio,
     * which falls when the registry changes what the checked peers' decisions read (their own renewals and
     * revocations; other nodes' changes leave them cached). Denials made before the cache is consulted (an
     * unavailable view, an oversized request, unresolved required policies, no peer identity) count in neither.
     */
    public long cachedDecisions() {
        return fromCache.sum();
    }

    /** Decisions made afresh (cache misses, and every decision when the cache is disabled). */
    public long computedDecisions() {
        return computed.sum();
    }

    /** Drops every cached decision; the next check of each peer is decided afresh. */
    public void invalidateAll() {
        cache.invalidateAll();
    }

    /**
     * @param headerPolicyIds policy IDs from the {@code x-attestmesh-policy-ids} header; empty to
     *     fall back to the mesh config
     */
    public Decision decide(CheckRequest req, List<String> headerPolicyIds) {
        return decide(CheckFields.of(req), headerPolicyIds);
    }

    /**
     * As {@link #decide(CheckRequest, List)}, on the fields a decision reads (the gRPC binding decodes only
     * those from the wire, {@link CheckFields#decode}).
     */
    public Decision decide(CheckFields req, List<String> headerPolicyIds) {
        try {
            Optional<String> unavailable = view.unavailableReason();
            if (unavailable.isPresent()) {
                return new Decision.Deny(unavailable.get());
            }
            // Keyed by the certificate field's bytes as sent, where they are; made text (and decoded) only on a miss
            int certificateLength = req.certificateLength();
            Decision.Deny oversized = oversized(req);
            if (oversized != null) {
                return oversized;
            }
            List<String> required;
            switch (requiredPolicies.of(req, headerPolicyIds)) {
                case RequiredPolicies.Required r -> required = r.policyIds();
                case RequiredPolicies.Unresolved u -> {
                    return new Decision.Deny(u.reason()); // not cached: cheap, and it ends when the view syncs
                }
            }
            String principal = req.sourcePrincipal();
            DecisionCache.Key key;
            if (certificateLength > 0) {
                key = req.certificateKey(required);
            } else if (!principal.isEmpty()) {
                key = DecisionCache.byPrincipal(principal, required);
            } else {
                return new Decision.Deny("no peer certificate and no peer principal: the connection is not mutual TLS");
            }
            Decision cached = cache.get(key, clock.millis());
            if (cached != null) {
                fromCache.increment();
                return cached;
            }
            computed.increment();
            long asOf = cache.asOf(); // before the registry is read: a change meanwhile voids the decision
            Instant now = clock.instant();
            TimedDecision fresh;
            int readStripe; // what the decision read, so that only a change of it voids the decision
            if (certificateLength == 0) {
                fresh = byPrincipal.decide(principal, required, now);
                readStripe = ChangeStamps.principalStripe(principal);
            } else if (!req.certificateIsUtf8()) { // checked here, once per field
                fresh = TimedDecision.deny("peer certificate field is not UTF-8 text; Envoy sends URL-encoded PEM", now);
                readStripe = ChangeStamps.NONE;
            } else {
                CertificateDecider.Outcome o = byCertificate.decide(req.certificateText(), required, now);
                fresh = o.timed();
                readStripe = o.nodeId() == null ? ChangeStamps.NONE : ChangeStamps.nodeStripe(o.nodeId());
            }
            cache.put(key, fresh, readStripe, asOf);
            if (fresh.decision() instanceof Decision.Deny d) {
                LOG.debug("ext_authz deny: {}", d.reason());
            }
            return fresh.decision();
        } catch (RuntimeException e) {
            LOG.warn("ext_authz internal error; denying", e);
            return new Decision.Deny("internal error: " + e.getClass().getSimpleName());
        }
    }

    /** The denial of a request too large to decide on, or null when it is within the limits. */
    private static Decision.Deny oversized(CheckFields req) {
        if (req.certificateLength() > MAX_CERTIFICATE_CHARS) {
            return new Decision.Deny("peer certificate field is " + req.certificateLength()
                    + " bytes, more than the limit of " + MAX_CERTIFICATE_CHARS + "; send the leaf certificate only");
        }
        int size = req.serializedSize();
        if (size > MAX_REQUEST_BYTES) {
            return new Decision.Deny("CheckRequest is " + size + " bytes, more than the limit of "
                    + MAX_REQUEST_BYTES + "; limit the headers and body Envoy forwards (with_request_body, "
                    + "allowed_headers)");
        }
        return null;
    }
}
