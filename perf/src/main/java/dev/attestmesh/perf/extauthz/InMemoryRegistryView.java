package dev.attestmesh.perf.extauthz;

import dev.attestmesh.authz.NodeAuthzRecord;
import dev.attestmesh.authz.RegistryChange;
import dev.attestmesh.authz.RegistryView;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** A fixed in-memory {@link RegistryView} for load tests: lookups are hash-map reads, as in the real registry. */
public final class InMemoryRegistryView implements RegistryView {
    private final Map<String, NodeAuthzRecord> byNode = new ConcurrentHashMap<>();
    private final Map<String, List<NodeAuthzRecord>> bySpiffe = new ConcurrentHashMap<>();
    private final Map<String, Long> policyVersions;
    private final List<X509Certificate> bundle;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private final List<java.util.function.Consumer<RegistryChange>> targeted = new CopyOnWriteArrayList<>();

    public InMemoryRegistryView(List<X509Certificate> bundle, Map<String, Long> policyVersions) {
        this.bundle = List.copyOf(bundle);
        this.policyVersions = Map.copyOf(policyVersions);
    }

    /** Records {@code r} and tells listeners that this node (and its principals, before and after) changed. */
    public void put(NodeAuthzRecord r) {
        NodeAuthzRecord before = byNode.put(r.nodeId(), r);
        bySpiffe.merge(r.spiffeId(), List.of(r), (a, b) -> java.util.stream.Stream.concat(
                a.stream().filter(x -> !x.nodeId().equals(r.nodeId())), b.stream()).toList());
        RegistryChange change = RegistryChange.node(r.nodeId(), before == null ? null : before.spiffeId(), r.spiffeId());
        targeted.forEach(l -> l.accept(change));
        listeners.forEach(Runnable::run);
    }

    @Override
    public Optional<NodeAuthzRecord> byNodeId(String id) {
        return Optional.ofNullable(byNode.get(id));
    }

    @Override
    public List<NodeAuthzRecord> instancesOf(String spiffeId) {
        return bySpiffe.getOrDefault(spiffeId, List.of());
    }

    @Override
    public OptionalLong currentPolicyVersion(String policyId) {
        Long v = policyVersions.get(policyId);
        return v == null ? OptionalLong.empty() : OptionalLong.of(v);
    }

    @Override
    public List<X509Certificate> trustBundle() {
        return bundle;
    }

    @Override
    public List<String> requiredPolicies(String destinationPrincipal, int destinationPort) {
        return List.of();
    }

    @Override
    public void addChangeListener(Runnable onChange) {
        listeners.add(onChange);
    }

    @Override
    public void addTargetedChangeListener(java.util.function.Consumer<RegistryChange> onChange) {
        targeted.add(onChange);
    }
}
