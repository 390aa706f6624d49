package dev.attestmesh.server.policy;

import dev.attestmesh.policy.Policy;
import dev.attestmesh.quote.TeeType;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * What this control plane allows in a policy beyond the document format, applied to every policy set
 * written (policy file, admin API):
 * <ul>
 *   <li>{@code sim} (the simulated TEE, whose signing key is public) only in dev mode;</li>
 *   <li>{@code certificateTtl} at most {@link #maxCertificateTtl()}: a certificate outlives a
 *       revocation only as long as its TTL where a relying party does not ask the registry, so the
 *       operator bounds it for every policy an API caller may write;</li>
 *   <li>{@code verifier: trustee} only with an {@code asAddr} configured on this control plane
 *       ({@code attestmesh.trustee.services}): a policy writer cannot point the control plane at an
 *       arbitrary URL or have it trust a token key the operator did not configure.</li>
 * </ul>
 * Policies already stored when the rules tighten are not rewritten: a stored {@code sim} policy is
 * satisfied by nothing (the simulator's verifier is not registered outside dev mode), and a stored
 * TTL above the bound is clamped at load ({@link #clamp}), both with a warning.
 *
 * @param devMode whether the control plane runs with {@code --dev}
 * @param maxCertificateTtl longest certificate lifetime a policy may ask for
 * @param trusteeAddresses the attestation services trustee policies may name
 */
public record PolicyRules(boolean devMode, Duration maxCertificateTtl, Set<URI> trusteeAddresses) {
    /** Rules with no attestation service configured. */
    public PolicyRules(boolean devMode, Duration maxCertificateTtl) {
        this(devMode, maxCertificateTtl, Set.of());
    }

    /** Default bound on {@code certificateTtl}. */
    public static final Duration DEFAULT_MAX_CERTIFICATE_TTL = Duration.ofHours(24);
    /** The largest bound an operator may configure. */
    public static final Duration LIMIT_MAX_CERTIFICATE_TTL = Duration.ofDays(7);

    /** Production rules: no simulator, TTL at most {@link #DEFAULT_MAX_CERTIFICATE_TTL}. */
    public static final PolicyRules PRODUCTION = new PolicyRules(false, DEFAULT_MAX_CERTIFICATE_TTL);
    /** Dev-mode rules (tests, the demo): the simulator allowed, the default TTL bound. */
    public static final PolicyRules DEV = new PolicyRules(true, DEFAULT_MAX_CERTIFICATE_TTL);

    public PolicyRules {
        if (maxCertificateTtl.compareTo(Duration.ofMinutes(1)) < 0
                || maxCertificateTtl.compareTo(LIMIT_MAX_CERTIFICATE_TTL) > 0) {
            throw new IllegalArgumentException("the maximum certificate TTL must be between 1m and 7d, got "
                    + maxCertificateTtl);
        }
        trusteeAddresses = Set.copyOf(trusteeAddresses);
    }

    /** Every problem of {@code policies} under these rules, each naming the policy and the rule. */
    public List<String> problems(Collection<Policy> policies) {
        List<String> out = new ArrayList<>();
        for (Policy p : policies) {
            if (!devMode && p.tees().contains(TeeType.SIM)) {
                out.add("policy '" + p.id() + "'.tee: 'sim' (the simulated TEE, whose signing key is public) is "
                        + "accepted only when the control plane runs in dev mode (--dev / attestmesh.dev-mode)");
            }
            if (p.delegated().isPresent() && !trusteeAddresses.contains(p.delegated().get().asAddr())) {
                out.add("policy '" + p.id() + "'.asAddr: " + p.delegated().get().asAddr() + " is not an attestation "
                        + "service configured on this control plane (attestmesh.trustee.services; configured: "
                        + trusteeAddresses.stream().map(URI::toString).sorted().toList() + ")");
            }
            if (p.certificateTtl().compareTo(maxCertificateTtl) > 0) {
                out.add("policy '" + p.id() + "'.certificateTtl: " + p.certificateTtl() + " exceeds this control "
                        + "plane's maximum of " + maxCertificateTtl + " (attestmesh.max-certificate-ttl)");
            }
        }
        return out;
    }

    /** {@code p} with its certificate TTL cut to the bound (for policies stored before the bound tightened). */
    public Policy clamp(Policy p) {
        if (p.certificateTtl().compareTo(maxCertificateTtl) <= 0) {
            return p;
        }
        return p.withCertificateTtl(maxCertificateTtl);
    }
}
