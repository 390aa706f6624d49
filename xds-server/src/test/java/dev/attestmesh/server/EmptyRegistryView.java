package dev.attestmesh.server;

import dev.attestmesh.authz.NodeAuthzRecord;
import dev.attestmesh.authz.RegistryView;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/** A {@link RegistryView} with nothing in it that never changes, for tests; subclass to vary one answer. */
public class EmptyRegistryView implements RegistryView {
    @Override
    public Optional<NodeAuthzRecord> byNodeId(String id) {
        return Optional.empty();
    }

    @Override
    public List<NodeAuthzRecord> instancesOf(String spiffeId) {
        return List.of();
    }

    @Override
    public OptionalLong currentPolicyVersion(String policyId) {
        return OptionalLong.empty();
    }

    @Override
    public List<X509Certificate> trustBundle() {
        return List.of();
    }

    @Override
    public List<String> requiredPolicies(String destinationPrincipal, int destinationPort) {
        return List.of();
    }

    @Override
    public void addChangeListener(Runnable onChange) {}
}
