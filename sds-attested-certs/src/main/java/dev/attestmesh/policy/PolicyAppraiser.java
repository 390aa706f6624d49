package dev.attestmesh.policy;

import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.trustee.DelegatedClaims;
import dev.attestmesh.trustee.EarStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Decides which policies verified evidence satisfies. Verification already established who signed
 * the evidence; appraisal compares its claims with each policy and records every rule with what was
 * observed and what was expected, so a refusal can be explained precisely.
 *
 * <p>Rules, in order: {@code tee} (type accepted), {@code insecure} (simulated evidence only when
 * the policy lists {@code sim}), {@code verifier} (a local policy refuses evidence only an attestation
 * service verified; a {@code verifier: trustee} policy requires its service's appraisal), then for local
 * policies {@code tcbStatus} and {@code advisoryIds} (every advisory on the evidence accepted), for
 * trustee policies {@code earStatus}; {@code debug}, each reference value ({@code reference.<claim>}, {@code
 * minimum.<claim>}, {@code masked.<claim>}), {@code evidenceAge}. A claim the policy constrains but
 * the evidence lacks fails its rule. A trustee policy's debug and reference rules read only the claims
 * its attestation service vouched for ({@link #delegatedView}). Stateless and thread-safe.
 */
public final class PolicyAppraiser {
    /** Evidence stamped this far in the future is tolerated (clock skew between node and control plane). */
    static final Duration FUTURE_SKEW = Duration.ofMinutes(5);
    private static final int SHOWN_VALUES = 8;

    /**
     * @param evidenceTime when the evidence was produced or verified, judged against {@code maxEvidenceAge}
     * @param now the appraisal time
     */
    public Appraisal appraise(VerifiedEvidence ev, Instant evidenceTime, Collection<Policy> policies, Instant now) {
        List<PolicyResult> out = new ArrayList<>(policies.size());
        for (Policy p : policies) {
            out.add(appraiseOne(ev, evidenceTime, p, now));
        }
        return new Appraisal(out);
    }

    private PolicyResult appraiseOne(VerifiedEvidence ev, Instant evidenceTime, Policy p, Instant now) {
        List<RuleResult> rules = new ArrayList<>();
        boolean teeOk = p.tees().contains(ev.tee());
        rules.add(new RuleResult("tee", teeOk, ev.tee().wireName(), "one of " + names(p.tees())));
        rules.add(new RuleResult("insecure", !ev.insecure() || p.tees().contains(TeeType.SIM),
                ev.insecure() ? "insecure (simulated) evidence" : "hardware evidence",
                p.tees().contains(TeeType.SIM) ? "any (policy lists sim)" : "hardware evidence (policy does not list sim)"));
        VerifiedEvidence claims = ev;
        if (p.delegated().isPresent()) {
            DelegatedVerifier d = p.delegated().get();
            claims = delegatedView(ev, d.claimPrefix());
            Long tier = claims.numbers().get(DelegatedClaims.STATUS);
            rules.add(new RuleResult("verifier", tier != null, tier != null ? "appraised by the attestation service"
                    : "no appraisal by the attestation service", "an EAR from " + d.asAddr() + " " + d.policyIds()));
            Optional<EarStatus> status = tier == null ? Optional.empty() : EarStatus.fromTier(tier);
            rules.add(new RuleResult("earStatus", status.isPresent() && status.get() != EarStatus.CONTRAINDICATED
                    && d.acceptedStatuses().contains(status.get()), status.map(EarStatus::wireName).orElse("absent"),
                    "one of " + d.acceptedStatuses().stream().map(EarStatus::wireName).toList()));
        } else {
            boolean delegatedOnly = ev.numbers().getOrDefault(DelegatedClaims.DELEGATED, 0L) != 0;
            rules.add(new RuleResult("verifier", !delegatedOnly, delegatedOnly
                    ? "verified only by an attestation service" : "verified by this control plane",
                    "verified by this control plane"));
            rules.add(new RuleResult("tcbStatus", p.acceptedTcbStatuses().contains(ev.tcbStatus()),
                    ev.tcbStatus().intelName(), "one of " + p.acceptedTcbStatuses().stream().map(TcbStatus::intelName).toList()));
            List<String> notAccepted = ev.advisoryIds().stream().filter(a -> !p.acceptedAdvisoryIds().contains(a)).toList();
            rules.add(new RuleResult("advisoryIds", notAccepted.isEmpty(), ev.advisoryIds().toString(),
                    "only accepted advisories " + p.acceptedAdvisoryIds()
                            + (notAccepted.isEmpty() ? "" : " (not accepted: " + notAccepted + ")")));
        }
        rules.add(new RuleResult("debug", !claims.debug() || p.allowDebug(), claims.debug() ? "debug" : "not debug",
                p.allowDebug() ? "debug allowed" : "not debug"));
        if (teeOk) {
            reference(claims, p.referenceFor(ev.tee()), rules);
        }
        Duration age = Duration.between(evidenceTime, now);
        boolean ageOk = !age.isNegative() ? age.compareTo(p.maxEvidenceAge()) <= 0 : age.negated().compareTo(FUTURE_SKEW) <= 0;
        rules.add(new RuleResult("evidenceAge", ageOk,
                age.isNegative() ? "evidence dated " + age.negated().toSeconds() + "s in the future" : age.toSeconds() + "s",
                "<= " + p.maxEvidenceAge().toSeconds() + "s"));
        boolean satisfied = rules.stream().allMatch(RuleResult::passed);
        return new PolicyResult(p.id(), p.version(), satisfied, rules);
    }

    /**
     * The claims one attestation service vouched for ({@code prefix} stripped), with its debug statement;
     * nothing else of the evidence, so a delegated policy is appraised on that service's word alone.
     */
    static VerifiedEvidence delegatedView(VerifiedEvidence ev, String prefix) {
        Map<String, String> m = new HashMap<>();
        ev.measurements().forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                m.put(k.substring(prefix.length()), v);
            }
        });
        Map<String, Long> n = new HashMap<>();
        ev.numbers().forEach((k, v) -> {
            if (k.startsWith(prefix)) {
                n.put(k.substring(prefix.length()), v);
            }
        });
        boolean debug = n.getOrDefault(DelegatedClaims.DEBUG, 0L) != 0;
        return new VerifiedEvidence(ev.tee(), ev.tcbStatus(), ev.advisoryIds(), debug, ev.insecure(), ev.reportData(),
                m, n, ev.evidenceSha256(), ev.fmspcOrChip(), ev.platformId());
    }

    private static void reference(VerifiedEvidence ev, ReferenceValues rv, List<RuleResult> rules) {
        Map<String, String> m = ev.measurements();
        Map<String, Long> n = ev.numbers();
        rv.allowedValues().forEach((claim, allowed) -> {
            String observed = m.get(claim);
            rules.add(new RuleResult("reference." + claim, observed != null && allowed.contains(observed),
                    observed == null ? "absent" : observed, "one of " + shown(allowed)));
        });
        rv.allowedNumbers().forEach((claim, allowed) -> {
            Long observed = n.get(claim);
            rules.add(new RuleResult("reference." + claim, observed != null && allowed.contains(observed),
                    observed == null ? "absent" : observed.toString(), "one of " + shown(allowed)));
        });
        rv.minimums().forEach((claim, min) -> {
            Long observed = n.get(claim);
            rules.add(new RuleResult("minimum." + claim, observed != null && observed >= min,
                    observed == null ? "absent" : observed.toString(), ">= " + min));
        });
        rv.masked().forEach((claim, mv) -> {
            Optional<Long> observed = maskedClaim(ev, claim);
            rules.add(new RuleResult("masked." + claim, observed.isPresent() && mv.matches(observed.get()),
                    observed.map(v -> MaskedValue.hex(v) + " (masked " + MaskedValue.hex(v & mv.mask()) + ")").orElse("absent"),
                    mv.toString()));
        });
        rv.minimumTeeTcbSvn().ifPresent(min -> {
            String observed = m.get("tee_tcb_svn");
            rules.add(new RuleResult("minimum.tee_tcb_svn", observed != null && componentsAtLeast(observed, min),
                    observed == null ? "absent" : observed, "every component >= " + min));
        });
    }

    /** An attribute-like claim as an unsigned 64-bit integer: from the integer claims, else little-endian bytes. */
    private static Optional<Long> maskedClaim(VerifiedEvidence ev, String claim) {
        Long v = ev.numbers().get(claim);
        if (v != null) {
            return Optional.of(v);
        }
        String hex = ev.measurements().get(claim);
        if (hex == null) {
            return Optional.empty();
        }
        byte[] b = HexFormat.of().parseHex(hex);
        if (b.length > 8) {
            return Optional.empty(); // cannot be compared as a 64-bit value: fail closed
        }
        long out = 0;
        for (int i = b.length - 1; i >= 0; i--) {
            out = (out << 8) | (b[i] & 0xff);
        }
        return Optional.of(out);
    }

    /** Byte-wise comparison: each SVN component (one byte) at least the minimum's. */
    static boolean componentsAtLeast(String observedHex, String minimumHex) {
        byte[] o;
        try {
            o = HexFormat.of().parseHex(observedHex);
        } catch (IllegalArgumentException e) {
            return false;
        }
        byte[] min = HexFormat.of().parseHex(minimumHex);
        if (o.length != min.length) {
            return false;
        }
        for (int i = 0; i < o.length; i++) {
            if ((o[i] & 0xff) < (min[i] & 0xff)) {
                return false;
            }
        }
        return true;
    }

    private static String names(Set<TeeType> tees) {
        return tees.stream().map(TeeType::wireName).toList().toString();
    }

    private static <T extends Comparable<T>> String shown(Set<T> values) {
        TreeSet<T> sorted = new TreeSet<>(values);
        String s = sorted.stream().limit(SHOWN_VALUES).map(Object::toString).collect(Collectors.joining(", "));
        return "[" + s + (sorted.size() > SHOWN_VALUES ? ", ... (" + sorted.size() + " values)" : "") + "]";
    }
}
