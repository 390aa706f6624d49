package dev.attestmesh.policy;

import java.util.List;
import java.util.Optional;

/**
 * The result of appraising one piece of verified evidence against a set of policies.
 *
 * @param results one result per policy, in the order the policies were given
 */
public record Appraisal(List<PolicyResult> results) {
    public Appraisal {
        results = List.copyOf(results);
    }

    /** The policies the evidence satisfied, with the versions appraised. */
    public List<PolicyRef> satisfied() {
        return results.stream().filter(PolicyResult::satisfied).map(r -> new PolicyRef(r.policyId(), r.version())).toList();
    }

    public Optional<PolicyResult> result(String policyId) {
        return results.stream().filter(r -> r.policyId().equals(policyId)).findFirst();
    }

    /**
     * Why the evidence does not satisfy {@code policyId}, e.g. {@code policy 'default' rule
     * 'reference.measurement': observed bb.., expected one of [aa..]}; empty when it does. A policy
     * that was not appraised is reported as unknown.
     */
    public Optional<String> firstFailure(String policyId) {
        Optional<PolicyResult> r = result(policyId);
        if (r.isEmpty()) {
            return Optional.of("policy '" + policyId + "' is unknown (not among the appraised policies)");
        }
        return r.get().firstFailedRule().map(f -> "policy '" + policyId + "' rule '" + f.rule() + "': observed "
                + f.observed() + ", expected " + f.expected());
    }
}
