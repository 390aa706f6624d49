package dev.attestmesh.server.revocation;

import dev.attestmesh.ca.SpiffeId;
import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.policy.Policy;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.registry.NodeRegistry;
import dev.attestmesh.server.store.Change;
import dev.attestmesh.server.store.ChangeNotifier;
import dev.attestmesh.server.store.InProcessChangeNotifier;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The revocation rules in force. Adding a rule persists it, then at once marks every matching node
 * REVOKED in the {@link NodeRegistry} (ext_authz denies on the next Check; the node's SDS secrets are
 * withdrawn by the snapshot publisher). While a rule exists, attestations matching it are refused
 * ({@link RevocationCheck}). Removing a rule lifts the revocations it made, unless another rule still
 * matches: such nodes become EXPIRED, so they are admitted again only after a fresh attestation.
 *
 * <p>The rules are also enforced on every registry change, which closes the window between an
 * attestation passing {@link #refusal} and a rule added just before that attestation is recorded.
 *
 * <p>Replicas sharing a store agree on the rules: after a rule is added or lifted (and committed) this
 * replica publishes {@link Change.Topic#REVOCATIONS}; a replica told so by another (or resynchronising
 * after a reconnect) reloads the rules from the store in one step and enforces them as a local rule
 * would be: matching nodes are revoked in the registry, whose listeners withdraw their snapshots, close
 * their xDS streams and empty the decision cache. The rule set is replaced as a whole, never emptied
 * in between, so an attestation checked meanwhile sees either the old or the new rules.
 */
public final class Revocations implements RevocationCheck {
    private static final Logger LOG = LoggerFactory.getLogger(Revocations.class);
    private static final String REASON_PREFIX = "revoked by revocation rule ";
    /** Longest reason an operator may give, in characters (column {@code revocations.reason}). */
    public static final int MAX_REASON_CHARS = 1024;
    /** Longest creator name kept (column {@code revocations.created_by}); longer names are cut. */
    static final int MAX_CREATED_BY_CHARS = 128;

    /** A rule just added and the nodes it revoked. */
    public record Applied(RevocationRule rule, List<String> revokedNodes) {}

    /** A rule just removed and the nodes whose revocation it lifted. */
    public record Lifted(RevocationRule rule, List<String> liftedNodes) {}

    private final RevocationStore store;
    private final NodeRegistry registry;
    private final Clock clock;
    private final ChangeNotifier changes;
    /** Immutable; replaced as a whole, under this, on every change. */
    private volatile List<RevocationRule> rules;
    private final ThreadLocal<Boolean> enforcing = ThreadLocal.withInitial(() -> false);

    /** Rules told only within this process (one replica). */
    public Revocations(RevocationStore store, NodeRegistry registry, Clock clock) {
        this(store, registry, clock, new InProcessChangeNotifier());
    }

    /**
     * Rules shared with the other replicas of the store through {@code changes}: published after every
     * committed change, reloaded and enforced when another replica changed them.
     */
    public Revocations(RevocationStore store, NodeRegistry registry, Clock clock, ChangeNotifier changes) {
        this.store = store;
        this.registry = registry;
        this.clock = clock;
        this.changes = changes;
        this.rules = List.copyOf(store.loadAll());
        registry.addChangeListener(this::enforce);
        changes.subscribe((change, origin) -> {
            if (change == Change.Topic.REVOCATIONS && origin == ChangeNotifier.Origin.OTHER_REPLICA) {
                reload();
            }
        });
        enforce();
    }

    /**
     * Adopts the stored rules (another replica added or lifted one) and revokes every node they match.
     * Nodes whose rule was lifted are not touched here: the replica that lifted it moves them to EXPIRED
     * (reading every node from the store first) and tells the others node by node, after it told them of
     * the rules.
     */
    private void reload() {
        List<RevocationRule> stored;
        synchronized (this) { // read under the lock that local changes hold while writing, so none is lost
            stored = List.copyOf(store.loadAll());
            if (stored.equals(rules)) {
                return;
            }
            rules = stored;
        }
        List<String> revoked = enforce();
        LOG.info("revocation rules changed by another replica: {} rule(s) in force; revoked nodes {}", stored.size(),
                revoked);
    }

    /** Every rule in force, oldest first. */
    public List<RevocationRule> all() {
        return rules;
    }

    public Optional<RevocationRule> get(String id) {
        return rules.stream().filter(r -> r.id().equals(id)).findFirst();
    }

    /**
     * Adds a rule and revokes every node it matches. The rule, and the platform rule that accompanies a
     * node rule, are stored in one transaction: both or neither.
     *
     * @param reason one line of at most {@value #MAX_REASON_CHARS} printable characters (may be empty)
     * @param createdBy who adds it; cut to {@value #MAX_CREATED_BY_CHARS} characters
     * @throws IllegalArgumentException when the value is not valid for the kind or the reason is not
     *     acceptable, saying which limit was broken; nothing is stored then
     */
    public Applied add(RevocationKind kind, String value, String reason, String createdBy) {
        List<RevocationRule> added = candidate(kind, value, reason, createdBy);
        RevocationRule rule = added.getFirst();
        String by = rule.createdBy();
        synchronized (this) {
            store.insertAll(added);
            List<RevocationRule> next = new ArrayList<>(rules);
            next.addAll(added);
            rules = List.copyOf(next);
        }
        List<String> revoked = enforce();
        // After the matching nodes' records: other replicas see those revoked first, then reload the rules
        // (and enforce them on nodes this replica had not heard of yet).
        changes.publish(Change.Topic.REVOCATIONS);
        LOG.info("{} added by '{}'; revoked nodes {}", rule.describe(), by, revoked);
        return new Applied(rule, revoked);
    }

    /**
     * The rule {@link #add} would store for these inputs, with the platform rule that accompanies a node
     * rule, validated exactly as {@code add} validates them; nothing is stored.
     *
     * @throws IllegalArgumentException when the value is not valid for the kind or the reason is not
     *     acceptable, saying which limit was broken
     */
    private List<RevocationRule> candidate(RevocationKind kind, String value, String reason, String createdBy) {
        if (kind == null || value == null) {
            throw new IllegalArgumentException("kind and value are required");
        }
        // Node ids and policy ids are checked here as strictly as where they arrive; rules stored before
        // these checks existed still load (RevocationRule checks only what the columns require).
        String trimmed = value.trim();
        if (kind == RevocationKind.NODE && !SpiffeId.isNodeId(trimmed)) {
            throw new IllegalArgumentException("node '" + UntrustedText.forLog(trimmed) + "' is not a node id: "
                    + SpiffeId.NODE_ID_RULE);
        }
        if (kind == RevocationKind.POLICY && !Policy.ID.matcher(trimmed).matches()) {
            throw new IllegalArgumentException("policy '" + UntrustedText.forLog(trimmed) + "' is not a policy id: "
                    + Policy.ID.pattern() + " (1-63 characters)");
        }
        String why = reason == null ? "" : reason;
        Optional<String> problem = UntrustedText.lineProblem("reason", why, MAX_REASON_CHARS);
        if (problem.isPresent()) {
            throw new IllegalArgumentException(problem.get());
        }
        String by = UntrustedText.fit(createdBy == null ? "unknown" : createdBy, MAX_CREATED_BY_CHARS);
        // millisecond precision: what every store keeps, so a reloaded rule equals this one
        RevocationRule rule = new RevocationRule(UUID.randomUUID().toString(), kind, value, why, by,
                clock.instant().truncatedTo(ChronoUnit.MILLIS));
        // A node rule also revokes the node's platform (when its evidence names one), so the TEE cannot
        // escape the revocation by attesting again under another node id. Validated before anything is stored.
        Optional<RevocationRule> platform = Optional.empty();
        if (kind == RevocationKind.NODE) {
            platform = registry.entry(rule.value()).flatMap(e -> e.evidence().platformId())
                    .map(p -> new RevocationRule(UUID.randomUUID().toString(), RevocationKind.PLATFORM, p,
                            UntrustedText.fit(companionPrefix(rule) + why, MAX_REASON_CHARS), by, rule.createdAt()));
        }
        List<RevocationRule> added = new ArrayList<>();
        added.add(rule);
        platform.ifPresent(added::add);
        return added;
    }

    /**
     * A dry run of {@link #add}: the nodes that adding this rule would revoke now (with its companion
     * platform rule), validated as {@code add} validates; nothing is stored and no node changes.
     *
     * @throws IllegalArgumentException as {@link #add} does
     */
    public List<String> previewAdd(RevocationKind kind, String value, String reason) {
        List<RevocationRule> candidates = candidate(kind, value, reason, "dry run");
        List<String> out = new ArrayList<>();
        for (NodeEntry e : registry.entries()) {
            RevocationSubject subject = RevocationSubject.of(e);
            if (e.state() != NodeState.REVOKED && candidates.stream().anyMatch(r -> r.matches(subject))) {
                out.add(e.nodeId());
            }
        }
        out.sort(null);
        return out;
    }

    /**
     * A dry run of {@link #remove}: the nodes whose revocation removing the rule would lift (those it
     * revoked that no other rule matches); empty when no rule has this id. Nothing changes.
     */
    public Optional<Lifted> previewRemove(String id) {
        Optional<RevocationRule> rule = get(id);
        if (rule.isEmpty()) {
            return Optional.empty();
        }
        List<String> ids = new ArrayList<>(removedWith(rule.get()));
        List<RevocationRule> remaining = rules.stream().filter(r -> !ids.contains(r.id())).toList();
        String marker = REASON_PREFIX + id + " ";
        List<String> lifted = new ArrayList<>();
        for (NodeEntry e : registry.entries()) {
            RevocationSubject subject = RevocationSubject.of(e);
            if (e.state() == NodeState.REVOKED && e.stateReason().startsWith(marker)
                    && remaining.stream().noneMatch(r -> r.matches(subject))) {
                lifted.add(e.nodeId());
            }
        }
        lifted.sort(null);
        return Optional.of(new Lifted(rule.get(), lifted));
    }

    /** The ids {@link #remove} deletes for {@code rule}: it and, for a node rule, its companion platform rule. */
    private List<String> removedWith(RevocationRule rule) {
        List<String> ids = new ArrayList<>();
        ids.add(rule.id());
        if (rule.kind() == RevocationKind.NODE) {
            String prefix = companionPrefix(rule);
            rules.stream().filter(r -> r.kind() == RevocationKind.PLATFORM && r.reason().startsWith(prefix))
                    .forEach(r -> ids.add(r.id()));
        }
        return ids;
    }

    /** The reason prefix of the platform rule that accompanies node rule {@code nodeRule}. */
    private static String companionPrefix(RevocationRule nodeRule) {
        return "platform of node '" + nodeRule.value() + "' (rule " + nodeRule.id() + "): ";
    }

    /**
     * Removes a rule and lifts the revocations it made; empty when no rule has this id. Removing a node
     * rule also removes the platform rule that was added with it.
     */
    public Optional<Lifted> remove(String id) {
        Optional<RevocationRule> rule = get(id);
        if (rule.isEmpty()) {
            return Optional.empty();
        }
        List<String> ids = removedWith(rule.get());
        // The rule and its companion platform rule go in one transaction: both or neither.
        synchronized (this) {
            if (!store.deleteAll(ids)) {
                return Optional.empty();
            }
            rules = rules.stream().filter(r -> !ids.contains(r.id())).toList();
        }
        // Before the lifted nodes' records: a replica still holding the rule would revoke them again.
        changes.publish(Change.Topic.REVOCATIONS);
        // Lift what the store holds, including nodes another replica revoked under this rule just now.
        registry.reloadAll();
        List<String> lifted = new ArrayList<>();
        String marker = REASON_PREFIX + id + " ";
        for (NodeEntry e : registry.entries()) {
            if (e.state() == NodeState.REVOKED && e.stateReason().startsWith(marker)
                    && firstMatch(RevocationSubject.of(e)).isEmpty()) {
                registry.put(e.withState(NodeState.EXPIRED, "revocation rule " + id
                        + " was lifted; the node is admitted again after it attests with fresh evidence"));
                lifted.add(e.nodeId());
            }
        }
        LOG.info("{} lifted; nodes that may attest again: {}", rule.get().describe(), lifted);
        return Optional.of(new Lifted(rule.get(), lifted));
    }

    @Override
    public Optional<String> refusal(RevocationSubject subject) {
        return firstMatch(subject).map(r -> "node '" + subject.nodeId() + "' matches " + r.describe()
                + "; an operator must lift the rule (attestmesh revocations / DELETE /api/v1/revocations/" + r.id() + ")");
    }

    /** This rule set as admission's gate: the subject of an attestation in progress. */
    public dev.attestmesh.admission.RevocationGate gate() {
        return (nodeId, registration, evidence, satisfied) -> refusal(RevocationSubject.of(nodeId, registration,
                evidence, satisfied));
    }

    /** The oldest rule matching {@code subject}. */
    public Optional<RevocationRule> firstMatch(RevocationSubject subject) {
        return rules.stream().filter(r -> r.matches(subject)).findFirst();
    }

    /** Revokes every attested node matching a rule; returns their ids. Re-entrant calls do nothing. */
    private List<String> enforce() {
        if (enforcing.get() || rules.isEmpty()) {
            return List.of();
        }
        enforcing.set(true);
        try {
            List<String> revoked = new ArrayList<>();
            for (NodeEntry e : registry.entries()) {
                if (e.state() == NodeState.REVOKED) {
                    continue;
                }
                Optional<RevocationRule> rule = firstMatch(RevocationSubject.of(e));
                if (rule.isPresent() && registry.revoke(e.nodeId(), REASON_PREFIX + rule.get().id() + " ("
                        + rule.get().kind().wireName() + "): " + rule.get().reason())) {
                    revoked.add(e.nodeId());
                }
            }
            return revoked;
        } finally {
            enforcing.set(false);
        }
    }
}
