package dev.attestmesh.server.attest;

import dev.attestmesh.input.UntrustedText;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * The last attestations this control plane refused, with their reasons, for the web console's overview.
 * Bounded twice, so a flood of bad requests cannot grow it: at most {@link #CAPACITY} refusals are kept
 * (the oldest dropped first), and every text is cut to a column-like bound by {@link UntrustedText#fit}.
 * The texts stay attacker-influenced (a node id, a reason quoting it): whoever shows them must escape them.
 * Held in memory by one replica; a restart forgets them (the log keeps every refusal).
 */
public final class RecentRefusals {
    /** Refusals kept. */
    public static final int CAPACITY = 100;
    static final int MAX_NODE_ID_CHARS = 256;
    static final int MAX_REASON_CHARS = 512;

    /**
     * One refusal.
     *
     * @param nodeId the node id the caller sent (unverified)
     * @param tee the TEE type the caller sent, or {@code invalid}
     * @param status the gRPC status code answered, e.g. {@code PERMISSION_DENIED}
     * @param reason the status description answered to the caller
     */
    public record Refusal(Instant at, String nodeId, String tee, String status, String reason) {}

    private final Clock clock;
    private final Deque<Refusal> refusals = new ArrayDeque<>(CAPACITY);

    public RecentRefusals(Clock clock) {
        this.clock = clock;
    }

    /** Records a refusal; {@code tee} should already be one of the known wire names or {@code invalid}. */
    public synchronized void record(String nodeId, String tee, String status, String reason) {
        if (refusals.size() == CAPACITY) {
            refusals.removeFirst();
        }
        refusals.addLast(new Refusal(clock.instant(), UntrustedText.fit(nodeId == null ? "" : nodeId, MAX_NODE_ID_CHARS),
                UntrustedText.fit(tee, 32), status, UntrustedText.fit(reason == null ? "" : reason, MAX_REASON_CHARS)));
    }

    /** The latest {@code n} refusals (at most {@link #CAPACITY}), newest first. */
    public synchronized List<Refusal> latest(int n) {
        List<Refusal> out = new ArrayList<>(Math.min(n, refusals.size()));
        var it = refusals.descendingIterator();
        while (it.hasNext() && out.size() < n) {
            out.add(it.next());
        }
        return out;
    }
}
