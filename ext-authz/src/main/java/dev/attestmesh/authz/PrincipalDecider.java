package dev.attestmesh.authz;

import dev.attestmesh.authz.peer.UntrustedText;
import dev.attestmesh.quote.TeeType;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeSet;

/**
 * Decides a check by principal alone (Istio sends {@code source.principal} but no peer certificate),
 * fail closed across every instance sharing the principal (design section 5a). The instances that
 * speak for the principal are those whose certificate has not expired, in any registry state; none
 * means deny. Every such instance must pass {@link RecordChecks}; the first that does not denies the
 * principal, naming that instance and why, so a revoked pod denies its siblings' connections too
 * until its certificate expires or it is released or removed.
 *
 * <p>An allow names the principal, the number of live instances, the TEE and measurement when all
 * instances agree on them, and the policies every instance satisfies at their current versions. It
 * may be reused until the earliest evidence or certificate expiry among the instances, so an
 * instance dropping out is re-decided.
 *
 * <p>Cost: one pass over the principal's n instances; each costs O(r) for the r required policies
 * (their current versions are resolved once per decision) plus O(p) for its p satisfied policies (to
 * keep the set common to all), so a decision is O(r + n * (r + p)) with at most a few dozen distinct
 * policy version lookups. Thread-safe (stateless apart from the view).
 */
final class PrincipalDecider {
    private final RegistryView view;
    private final boolean allowInsecure;

    /** @param allowInsecure whether instances attested with simulated-TEE evidence pass (dev mode only) */
    PrincipalDecider(RegistryView view, boolean allowInsecure) {
        this.view = view;
        this.allowInsecure = allowInsecure;
    }

    TimedDecision decide(String principal, List<String> required, Instant now) {
        List<NodeAuthzRecord> instances = view.instancesOf(principal);
        RecordChecks.Result versions = null; // resolved at the first live instance: no policy lookups for a ghost
        Map<String, OptionalLong> currentByPolicy = new HashMap<>();
        int live = 0;
        Instant validUntil = Instant.MAX;
        TeeType tee = null;
        boolean teeMixed = false;
        String measurement = null;
        boolean measurementMixed = false;
        TreeSet<String> common = null;
        for (NodeAuthzRecord r : instances) {
            if (!now.isBefore(r.certificateNotAfter())) {
                continue; // its certificate expired: it no longer speaks for the principal, whatever its state
            }
            if (versions == null) {
                versions = RecordChecks.currentVersions(view, required);
                if (versions.problem().isPresent()) {
                    return TimedDecision.deny(versions.problem().get(), now);
                }
            }
            Optional<String> problem = RecordChecks.problem(r, required, versions.versions(), now, allowInsecure);
            if (problem.isPresent()) {
                return TimedDecision.deny("instance '" + r.nodeId() + "' of " + principal + " " + problem.get(), now);
            }
            live++;
            validUntil = min(validUntil, min(r.evidenceExpiresAt(), r.certificateNotAfter()));
            if (tee == null) {
                tee = r.tee();
                measurement = r.measurement();
            } else {
                teeMixed |= tee != r.tee();
                measurementMixed |= !measurement.equals(r.measurement());
            }
            common = satisfiedAtCurrent(r, common, currentByPolicy);
        }
        if (live == 0) {
            // The principal is the caller's text until the registry vouches for it: quoted
            return TimedDecision.deny("no instance of " + UntrustedText.quote(principal) + " holds a current certificate"
                    + (instances.isEmpty() ? " (none is in the registry)"
                            : " (" + instances.size() + " recorded, every certificate expired)"), now);
        }
        Decision.Principal peer = new Decision.Principal(principal, live,
                teeMixed ? Optional.empty() : Optional.of(tee),
                measurementMixed ? Optional.empty() : Optional.of(measurement));
        return new TimedDecision(new Decision.Allow(peer, new ArrayList<>(common)), now, validUntil);
    }

    /**
     * The policies {@code r} holds at their current versions, intersected with {@code common} (all of
     * them when {@code common} is null, for the first instance). Versions are looked up once per policy.
     */
    private TreeSet<String> satisfiedAtCurrent(NodeAuthzRecord r, TreeSet<String> common,
            Map<String, OptionalLong> currentByPolicy) {
        if (common == null) {
            TreeSet<String> first = new TreeSet<>();
            r.satisfiedPolicies().forEach((id, held) -> {
                if (isCurrent(id, held, currentByPolicy)) {
                    first.add(id);
                }
            });
            return first;
        }
        common.removeIf(id -> !isCurrent(id, r.satisfiedPolicies().get(id), currentByPolicy));
        return common;
    }

    private boolean isCurrent(String id, Long held, Map<String, OptionalLong> currentByPolicy) {
        if (held == null) {
            return false;
        }
        OptionalLong current = currentByPolicy.computeIfAbsent(id, view::currentPolicyVersion);
        return current.isPresent() && current.getAsLong() == held;
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }
}
