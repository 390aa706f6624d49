package dev.attestmesh.identity;

import dev.attestmesh.ca.SpiffeId;
import dev.attestmesh.policy.Appraisal;
import dev.attestmesh.policy.PolicyResult;
import dev.attestmesh.policy.RuleResult;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Decides which identity verified, appraised evidence earns (DESIGN.md section 5a). Identity is an
 * output: the caller may name the SPIFFE ID it wants, but receives it only when the registration
 * granting it holds completely: every policy satisfied (at the version appraised now), the Kubernetes
 * selector proven by a verified token bound to the nonce, the node-id glob matched, and the
 * live-instance cap not reached. Without a named identity the node gets the one registration that
 * holds; none or several is a refusal. Stateless and thread-safe.
 */
public final class IdentityResolver {

    /** Counts the nodes other than {@code excludingNodeId} currently holding {@code spiffeId}. */
    @FunctionalInterface
    public interface LiveInstances {
        int count(String spiffeId, String excludingNodeId);

        /** For re-checks where the cap was already enforced at admission. */
        LiveInstances IGNORED = (id, node) -> 0;
    }

    /**
     * What is known about the node being identified.
     *
     * @param nodeId the node id (the pod UID for Kubernetes workloads)
     * @param appraisal the appraisal of its verified evidence against every policy in force
     * @param kubernetes the workload identity proven by a service-account token bound to the nonce
     */
    public record Subject(String nodeId, Appraisal appraisal, Optional<KubernetesIdentity> kubernetes) {}

    /**
     * @param registrations every registration in force
     * @param requested the SPIFFE ID the node asked for, if any (validated here)
     */
    public IdentityDecision resolve(Collection<Registration> registrations, Subject subject,
            Optional<String> requested, LiveInstances live) {
        if (requested.isPresent()) {
            return resolveRequested(registrations, subject, requested.get(), live);
        }
        List<IdentityDecision.Granted> granted = new ArrayList<>();
        List<String> detail = new ArrayList<>();
        for (Registration r : registrations) {
            Optional<String> failure = failure(r, subject, live);
            if (failure.isEmpty()) {
                granted.add(new IdentityDecision.Granted(r, r.spiffeIdFor(subject.nodeId())));
            } else {
                detail.add(r.id() + ": " + failure.get());
            }
        }
        if (granted.size() == 1) {
            return granted.getFirst();
        }
        if (granted.isEmpty()) {
            return new IdentityDecision.Refused("no registration grants an identity to node '" + subject.nodeId()
                    + "' (" + registrations.size() + " registration(s) checked); ask for the identity you expect "
                    + "(agent --identity) to learn which of its rules fails", String.join("; ", detail), false);
        }
        return new IdentityDecision.Refused("several registrations grant node '" + subject.nodeId()
                + "' an identity (" + String.join(", ", granted.stream().map(g -> g.spiffeId().uri()).toList())
                + "); ask for one of them (agent --identity)", "", true);
    }

    /**
     * Re-checks a held identity (after a policy or registration change): the registration must still
     * exist and hold, and grant the same SPIFFE ID.
     *
     * @return empty when it still holds, else why not
     */
    public Optional<String> recheck(Collection<Registration> registrations, String registrationId, String spiffeId,
            Subject subject) {
        Optional<Registration> r = registrations.stream().filter(x -> x.id().equals(registrationId)).findFirst();
        if (r.isEmpty()) {
            return Optional.of("registration '" + registrationId + "' was removed");
        }
        if (!r.get().spiffeIdFor(subject.nodeId()).uri().equals(spiffeId)) {
            return Optional.of("registration '" + registrationId + "' now grants another SPIFFE ID");
        }
        return failure(r.get(), subject, LiveInstances.IGNORED).map(f -> "registration '" + registrationId + "': " + f);
    }

    private IdentityDecision resolveRequested(Collection<Registration> registrations, Subject subject, String requested,
            LiveInstances live) {
        SpiffeId id;
        try {
            id = SpiffeId.parse(requested);
        } catch (IllegalArgumentException e) {
            return new IdentityDecision.Refused("requested SPIFFE ID is invalid: "
                    + RegistrationDocuments.bounded(e.getMessage()), "", false);
        }
        if (ReservedIdentities.isReserved(id)) {
            return new IdentityDecision.Refused(id.uri() + " is reserved for AttestMesh's own components and is never "
                    + "granted to an attested node", "", false);
        }
        for (Registration r : registrations) {
            if (r.spiffeIdFor(subject.nodeId()).equals(id)) {
                Optional<String> failure = failure(r, subject, live);
                return failure.<IdentityDecision>map(f -> new IdentityDecision.Refused("registration '" + r.id()
                        + "' for " + id.uri() + " does not hold: " + f, "", false))
                        .orElseGet(() -> new IdentityDecision.Granted(r, id));
            }
        }
        return new IdentityDecision.Refused("no registration grants " + id.uri() + " to node '" + subject.nodeId()
                + "'", "", false);
    }

    /** The first rule of {@code r} that does not hold, phrased without reference values. */
    private static Optional<String> failure(Registration r, Subject s, LiveInstances live) {
        // Validation keeps the registration's own SPIFFE ID out of the reserved paths, but a {nodeId}
        // template may still expand into them (spiffe://<td>/{nodeId}/control-plane for node "attestmesh").
        SpiffeId granted = r.spiffeIdFor(s.nodeId());
        if (ReservedIdentities.isReserved(granted)) {
            return Optional.of("for node id '" + s.nodeId() + "' it would grant " + granted.uri() + ", which is "
                    + "reserved for AttestMesh's own components and never granted to an attested node");
        }
        Map<String, Long> satisfied = new java.util.HashMap<>();
        s.appraisal().satisfied().forEach(p -> satisfied.put(p.id(), p.version()));
        for (String policy : r.policies()) {
            if (!satisfied.containsKey(policy)) {
                Optional<PolicyResult> result = s.appraisal().result(policy);
                if (result.isEmpty()) {
                    return Optional.of("policy '" + policy + "' does not exist on this control plane");
                }
                Optional<RuleResult> rule = result.get().firstFailedRule();
                return Optional.of("policy '" + policy + "' is not satisfied" + rule.map(x -> " (rule " + x.rule()
                        + " failed; observed " + RegistrationDocuments.bounded(x.observed()) + ")").orElse(""));
            }
        }
        if (r.kubernetes().isPresent()) {
            Registration.KubernetesSelector want = r.kubernetes().get();
            if (s.kubernetes().isEmpty()) {
                return Optional.of("it requires a Kubernetes service-account token for namespace '" + want.namespace()
                        + "' and service account '" + want.serviceAccount() + "', and none was presented with the "
                        + "Challenge (agent --service-account-token-file)");
            }
            KubernetesIdentity k = s.kubernetes().get();
            if (!k.namespace().equals(want.namespace()) || !k.serviceAccount().equals(want.serviceAccount())) {
                return Optional.of("it requires namespace '" + want.namespace() + "' and service account '"
                        + want.serviceAccount() + "', but the token proves namespace '" + k.namespace()
                        + "' and service account '" + k.serviceAccount() + "'");
            }
        }
        if (!r.nodeIdMatches(s.nodeId())) {
            return Optional.of("node id '" + s.nodeId() + "' does not match the selector '" + r.nodeIdPattern().orElseThrow()
                    + "'");
        }
        if (r.maxInstances().isPresent()) {
            String uri = r.spiffeIdFor(s.nodeId()).uri();
            int others = live.count(uri, s.nodeId());
            if (others >= r.maxInstances().getAsInt()) {
                return Optional.of("it allows at most " + r.maxInstances().getAsInt() + " live instance(s) and "
                        + others + " other node(s) hold " + uri + " now");
            }
        }
        return Optional.empty();
    }
}
