package dev.attestmesh.server.secrets;

import dev.attestmesh.issuance.IssuanceLog;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.server.policy.PolicyRegistry;
import dev.attestmesh.server.registry.NodeEntry;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides which secrets a node receives now, and records every release in the issuance log (docs/secrets.md,
 * "Release"). A node receives the current version of a secret only when its registry record is {@code ATTESTED}
 * (not revoked, not withdrawn), its certificate and evidence are unexpired, and it satisfies a clause of the
 * secret's effective rule under its current appraisal: it holds the named registration, or its re-appraised
 * policy set holds the named policy, which still exists. Anything else gets nothing (fail closed).
 *
 * <p>Releases over the agent's RPC are logged every time; releases into a node's SDS snapshot are logged when the
 * node first gets that version on that evidence (a snapshot is rebuilt often, a value is delivered once).
 */
public final class SecretReleases {
    private static final Logger LOG = LoggerFactory.getLogger(SecretReleases.class);

    /** How a release reached the node. */
    public enum Channel { AGENT, SDS }

    /** One released secret version: its name, version and value. */
    public record Released(String name, long version, byte[] value) {}

    private final Secrets secrets;
    private final SealingKeys sealingKeys;
    private final PolicyRegistry policies;
    private final IssuanceLog log;
    private final Clock clock;
    /** Per node: "name@version@evidence" already logged for its SDS snapshot. */
    private final Map<String, Set<String>> sdsLogged = new ConcurrentHashMap<>();

    public SecretReleases(Secrets secrets, SealingKeys sealingKeys, PolicyRegistry policies, IssuanceLog log,
            Clock clock) {
        this.secrets = secrets;
        this.sealingKeys = sealingKeys;
        this.policies = policies;
        this.log = log;
        this.clock = clock;
    }

    /**
     * The secrets {@code node} receives now, each release recorded in the issuance log before it is returned. A
     * secret that cannot be opened (store corrupted, wrong key) is left out and logged, never half-delivered.
     */
    public List<Released> releaseTo(NodeEntry node, Channel channel) {
        if (!eligible(node)) {
            sdsLogged.remove(node.nodeId());
            return List.of();
        }
        String evidence = HexFormat.of().formatHex(node.claims().evidenceSha256());
        List<String> policyIds = node.satisfiedPolicies().keySet().stream().sorted().toList();
        List<Released> candidates = new ArrayList<>();
        for (SecretMetadata m : secrets.all()) {
            if (!satisfies(node, m.effectiveRule())) {
                continue;
            }
            try {
                candidates.add(new Released(m.name(), m.currentVersion(), secrets.currentValue(m)));
            } catch (SecretStoreException e) {
                LOG.error("secret '{}' withheld from node {}: {}", m.name(), node.nodeId(), e.getMessage());
            }
        }
        // the sealing private keys of every sealing policy the node satisfies at its current version
        for (String policyId : policyIds) {
            if (satisfies(node, List.of(new SecretRule(SecretRule.Kind.POLICY, policyId)))) {
                try {
                    candidates.addAll(sealingKeys.releasableKeys(policyId));
                } catch (SecretStoreException e) {
                    LOG.error("sealing keys of policy '{}' withheld from node {}: {}", policyId, node.nodeId(),
                            e.getMessage());
                }
            }
        }
        List<Released> out = new ArrayList<>();
        Set<String> logged = sdsLogged.computeIfAbsent(node.nodeId(), k -> ConcurrentHashMap.newKeySet());
        Set<String> current = new java.util.HashSet<>();
        for (Released r : candidates) {
            String key = r.name() + "@" + r.version() + "@" + evidence;
            current.add(key);
            if (channel == Channel.AGENT || logged.add(key)) {
                log.appendRelease(r.name(), r.version(), node.certSerialHex(), node.nodeId(), node.spiffeId(),
                        evidence, policyIds, clock.instant());
            }
            out.add(r);
        }
        if (channel == Channel.SDS) {
            logged.retainAll(current); // a version withdrawn and granted again is logged again
        }
        return out;
    }

    private boolean eligible(NodeEntry node) {
        Instant now = clock.instant();
        return node.state() == NodeState.ATTESTED && node.certNotAfter().isAfter(now)
                && node.evidenceExpiresAt().isAfter(now) && !node.registration().isEmpty();
    }

    private boolean satisfies(NodeEntry node, List<SecretRule> rule) {
        for (SecretRule r : rule) {
            boolean ok = switch (r.kind()) {
                case REGISTRATION -> node.registration().equals(r.id());
                case POLICY -> {
                    Long version = node.satisfiedPolicies().get(r.id());
                    yield version != null && policies.version(r.id()).orElse(-1) == version;
                }
            };
            if (ok) {
                return true;
            }
        }
        return false;
    }
}
