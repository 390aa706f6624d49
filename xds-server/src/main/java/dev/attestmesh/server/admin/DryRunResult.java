package dev.attestmesh.server.admin;

import dev.attestmesh.server.registry.NodeRegistry;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.serde.annotation.Serdeable;
import java.util.List;

/**
 * The answer to a write sent with {@code ?dryRun=true}: the write was validated exactly as it would be,
 * and this says what it would change, but nothing was stored and no node changed. Operators read it
 * before applying a policy, registration, mesh or revocation change ({@code attestmesh ... --dry-run},
 * {@code attestmesh ... diff}).
 *
 * @param dryRun always true, so a saved answer cannot be mistaken for an applied change
 * @param changes each object the write touches, with its canonical document before and after
 * @param nodes the nodes whose standing would change, by node id
 */
@Serdeable
public record DryRunResult(boolean dryRun, List<ObjectChange> changes, List<AffectedNode> nodes) {
    public DryRunResult {
        changes = List.copyOf(changes);
        nodes = List.copyOf(nodes);
    }

    public static DryRunResult of(List<ObjectChange> changes, List<AffectedNode> nodes) {
        return new DryRunResult(true, changes, nodes);
    }

    /**
     * One object's change.
     *
     * @param change {@code created}, {@code updated}, {@code unchanged} or {@code deleted}
     * @param before the live object's document; null when it does not exist
     * @param after the document it would have; null when it would be deleted
     */
    @Serdeable
    public record ObjectChange(String id, String change, @Nullable String before, @Nullable String after) {}

    /**
     * How one node would change.
     *
     * @param effect {@code loses-identity}, {@code policies-change}, {@code revoked}, {@code lifted} or
     *     {@code mesh-change}
     * @param policiesLost policy ids it would stop satisfying
     * @param policiesGained policy ids it would start satisfying
     * @param detail why, in words (empty when the effect says it all)
     */
    @Serdeable
    public record AffectedNode(String nodeId, String effect, List<String> policiesLost, List<String> policiesGained,
            String detail) {
        public AffectedNode {
            policiesLost = List.copyOf(policiesLost);
            policiesGained = List.copyOf(policiesGained);
        }

        static AffectedNode of(NodeRegistry.NodeEffect e) {
            return new AffectedNode(e.nodeId(), e.losesIdentity() ? "loses-identity" : "policies-change",
                    e.policiesLost(), e.policiesGained(), e.reason());
        }

        public static AffectedNode simple(String nodeId, String effect, String detail) {
            return new AffectedNode(nodeId, effect, List.of(), List.of(), detail);
        }
    }
}
