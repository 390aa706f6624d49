package dev.attestmesh.policy;

import java.util.List;
import java.util.Optional;

/**
 * The appraisal of evidence against one policy version.
 *
 * @param policyId the policy
 * @param version the policy version appraised against
 * @param satisfied true when every rule passed
 * @param rules every rule checked, in evaluation order
 */
public record PolicyResult(String policyId, long version, boolean satisfied, List<RuleResult> rules) {
    public PolicyResult {
        rules = List.copyOf(rules);
    }

    /** The first rule that failed, if any. */
    public Optional<RuleResult> firstFailedRule() {
        return rules.stream().filter(r -> !r.passed()).findFirst();
    }
}
