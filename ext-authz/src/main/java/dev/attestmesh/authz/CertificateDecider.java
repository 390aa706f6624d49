package dev.attestmesh.authz;

import dev.attestmesh.authz.peer.EnvoyPeerCertificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * Decides a Check by the peer certificate Envoy forwarded (design section 7): the URL-encoded PEM
 * decodes strictly to one leaf ({@link EnvoyPeerCertificate}), the leaf is a current certificate of an
 * attested node ({@link NodeCertificateVerifier}), its evidence is not simulated unless in dev mode (the
 * claims' {@code insecure} flag and the record's TEE), and the record passes {@link RecordChecks}. An
 * allow names that node and the policies it holds at their current versions, and lasts until the
 * certificate or the evidence expires. Thread-safe.
 */
final class CertificateDecider {
    private final RegistryView view;
    private final NodeCertificateVerifier nodes;
    private final boolean allowInsecure;

    CertificateDecider(RegistryView view, boolean allowInsecure) {
        this.view = view;
        this.nodes = new NodeCertificateVerifier(view);
        this.allowInsecure = allowInsecure;
    }

    /**
     * A decision and the node whose registry record it read: null when it read none (the field is not a
     * certificate, or the certificate was refused before its node was looked up: expired, not chaining to the trust
     * bundle, not a node certificate), so that only a change of that node, or of everything, voids it.
     */
    record Outcome(TimedDecision timed, String nodeId) {}

    Outcome decide(String urlEncodedPem, List<String> required, Instant now) {
        X509Certificate leaf;
        try {
            leaf = EnvoyPeerCertificate.decode(urlEncodedPem);
        } catch (CertificateException e) {
            return new Outcome(TimedDecision.deny(e.getMessage(), now), null);
        }
        return switch (nodes.verify(leaf, now)) {
            case NodeCertificateVerifier.Refused r -> new Outcome(TimedDecision.deny(r.reason(), now), r.nodeId());
            case NodeCertificateVerifier.Verified v -> new Outcome(admit(v, required, now), v.record().nodeId());
        };
    }

    private TimedDecision admit(NodeCertificateVerifier.Verified v, List<String> required, Instant now) {
        NodeAuthzRecord r = v.record();
        if (!allowInsecure && v.certificate().claims().insecure()) {
            return TimedDecision.deny("node '" + r.nodeId() + "' " + RecordChecks.INSECURE, now);
        }
        RecordChecks.Result versions = RecordChecks.currentVersions(view, required);
        if (versions.problem().isPresent()) {
            return TimedDecision.deny(versions.problem().get(), now);
        }
        Optional<String> problem = RecordChecks.problem(r, required, versions.versions(), now, allowInsecure);
        if (problem.isPresent()) {
            return TimedDecision.deny("node '" + r.nodeId() + "' " + problem.get(), now);
        }
        List<String> satisfied = new ArrayList<>();
        for (Map.Entry<String, Long> e : new TreeMap<>(r.satisfiedPolicies()).entrySet()) {
            OptionalLong current = view.currentPolicyVersion(e.getKey());
            if (current.isPresent() && current.getAsLong() == e.getValue()) {
                satisfied.add(e.getKey());
            }
        }
        Instant until = min(v.certificate().leaf().getNotAfter().toInstant(), r.evidenceExpiresAt());
        return new TimedDecision(new Decision.Allow(new Decision.Node(r.nodeId(), r.spiffeId(), r.tee(),
                r.measurement()), satisfied), now, until);
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }
}
