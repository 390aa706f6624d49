package dev.attestmesh.issuance;

import java.util.List;
import java.util.Optional;

/**
 * Re-computes the issuance log's hash chain from entries read page by page, from the store (inside the
 * control plane) or from the admin API (an outside verifier), optionally against a signed
 * {@link Checkpoint}:
 *
 * <ul>
 *   <li>every entry's hash is recomputed from its content and must link to its predecessor, sequences
 *       contiguous from 1 (a break is {@link LogAudit.Outcome#BROKEN_CHAIN});
 *   <li>the entry at the checkpoint's size must hash to the checkpoint's head: any change to an entry at
 *       or before it changes that hash even when the chain was recomputed after the change
 *       ({@link LogAudit.Outcome#REWRITTEN});
 *   <li>the log must hold at least the checkpoint's size entries: removing the tail leaves a valid,
 *       shorter chain that only the checkpoint reveals ({@link LogAudit.Outcome#TRUNCATED}).
 * </ul>
 */
public final class IssuanceLogVerifier {
    /** Entries read per page. */
    static final int PAGE = 512;

    /** Reads up to {@code limit} entries with sequence {@code >= fromSequence}, in sequence order. */
    @FunctionalInterface
    public interface Pages {
        List<IssuanceLogEntry> read(long fromSequence, int limit);
    }

    private IssuanceLogVerifier() {}

    /** Checks the whole chain from the first entry; stops at the first broken entry. */
    public static LogVerification verifyChain(Pages pages) {
        LogAudit a = walk(pages, 1, IssuanceLog.GENESIS_HASH, Long.MAX_VALUE, Optional.empty());
        return a.consistent()
                ? new LogVerification(true, a.entriesChecked(), Optional.empty(), Optional.empty())
                : new LogVerification(false, a.entriesChecked(), a.sequence(), Optional.of(a.message()));
    }

    /** Checks the whole log, from its first entry to its last, against {@code checkpoint}. */
    public static LogAudit verifyAgainst(Pages pages, Checkpoint checkpoint) {
        LogAudit a = walk(pages, 1, IssuanceLog.GENESIS_HASH, Long.MAX_VALUE, Optional.of(checkpoint));
        if (!a.consistent()) {
            return a;
        }
        long size = a.entriesChecked();
        if (size < checkpoint.size()) {
            return truncated(a.entriesChecked(), size, checkpoint);
        }
        return new LogAudit(LogAudit.Outcome.CONSISTENT, a.entriesChecked(), Optional.empty(),
                "issuance log intact: " + size + " entries verified, consistent with the checkpoint of "
                        + checkpoint.timestamp() + " (size " + checkpoint.size() + ")");
    }

    /**
     * Checks that entries {@code trusted.size() .. toSize} extend the trusted checkpoint: the entry at its
     * size still hashes to its head, and every later entry up to {@code toSize} hashes and links correctly.
     * Reads only those entries, so checkpointing a large log costs only what was appended since.
     */
    public static LogAudit verifyExtension(Pages pages, Checkpoint trusted, long toSize) {
        String prev = IssuanceLog.GENESIS_HASH;
        long checked = 0;
        if (toSize < trusted.size()) {
            return truncated(0, toSize, trusted);
        }
        if (trusted.size() > 0) {
            List<IssuanceLogEntry> at = pages.read(trusted.size(), 1);
            if (at.isEmpty() || at.getFirst().sequence() != trusted.size()) {
                return new LogAudit(LogAudit.Outcome.TRUNCATED, 0, Optional.of(trusted.size()), "entry "
                        + trusted.size() + ", the last one the checkpoint of " + trusted.timestamp()
                        + " covers, is missing (log truncated)");
            }
            IssuanceLogEntry e = at.getFirst();
            checked = 1;
            if (!e.hashHex().equals(recompute(e))) {
                return new LogAudit(LogAudit.Outcome.BROKEN_CHAIN, checked, Optional.of(e.sequence()),
                        "entry " + e.sequence() + " content does not match its hash (entry altered)");
            }
            if (!e.hashHex().equals(trusted.headHashHex())) {
                return rewritten(checked, e, trusted);
            }
            prev = e.hashHex();
        }
        LogAudit rest = walk(pages, trusted.size() + 1, prev, toSize, Optional.empty());
        long total = checked + rest.entriesChecked();
        if (!rest.consistent()) {
            return new LogAudit(rest.outcome(), total, rest.sequence(), rest.message());
        }
        if (trusted.size() + rest.entriesChecked() < toSize) {
            return new LogAudit(LogAudit.Outcome.TRUNCATED, total, Optional.of(trusted.size() + rest.entriesChecked() + 1),
                    "the log ends at entry " + (trusted.size() + rest.entriesChecked()) + " but its head was entry " + toSize);
        }
        return new LogAudit(LogAudit.Outcome.CONSISTENT, total, Optional.empty(), "entries " + trusted.size() + ".."
                + toSize + " extend the checkpoint of " + trusted.timestamp());
    }

    /**
     * Walks entries {@code from .. to} (inclusive; fewer if the log ends first) expecting the first to link
     * to {@code prevHash}; when a checkpoint is given, the entry at its size must hash to its head.
     */
    private static LogAudit walk(Pages pages, long from, String prevHash, long to, Optional<Checkpoint> checkpoint) {
        long expected = from;
        String prev = prevHash;
        long checked = 0;
        while (expected <= to) {
            int limit = (int) Math.min(PAGE, to - expected + 1);
            List<IssuanceLogEntry> page = pages.read(expected, limit);
            if (page.isEmpty()) {
                break;
            }
            for (IssuanceLogEntry e : page) {
                if (expected > to) {
                    break;
                }
                checked++;
                String problem = null;
                if (e.sequence() != expected) {
                    problem = "expected sequence " + expected + " but found " + e.sequence() + " (entry missing)";
                } else if (!e.previousHashHex().equals(prev)) {
                    problem = "previous-hash link does not match the hash of entry " + (expected - 1);
                } else if (!e.hashHex().equals(recompute(e))) {
                    problem = "entry content does not match its hash (entry altered)";
                }
                if (problem != null) {
                    return new LogAudit(LogAudit.Outcome.BROKEN_CHAIN, checked,
                            Optional.of(Math.min(e.sequence(), expected)), problem);
                }
                if (checkpoint.isPresent() && e.sequence() == checkpoint.get().size()
                        && !e.hashHex().equals(checkpoint.get().headHashHex())) {
                    return rewritten(checked, e, checkpoint.get());
                }
                prev = e.hashHex();
                expected++;
            }
        }
        return new LogAudit(LogAudit.Outcome.CONSISTENT, checked, Optional.empty(), checked + " entries verified");
    }

    private static LogAudit rewritten(long checked, IssuanceLogEntry e, Checkpoint c) {
        return new LogAudit(LogAudit.Outcome.REWRITTEN, checked, Optional.of(e.sequence()), "entry " + e.sequence()
                + " hashes to " + e.hashHex() + " but the checkpoint of " + c.timestamp() + " signed head "
                + c.headHashHex() + " for size " + c.size() + ": the log was rewritten at or before entry " + e.sequence());
    }

    private static LogAudit truncated(long checked, long present, Checkpoint c) {
        return new LogAudit(LogAudit.Outcome.TRUNCATED, checked, Optional.of(present + 1), "the log has " + present
                + " entries but the checkpoint of " + c.timestamp() + " covers " + c.size() + ": entries " + (present + 1)
                + ".." + c.size() + " were removed (log truncated)");
    }

    private static String recompute(IssuanceLogEntry e) {
        return IssuanceLog.hash(e);
    }
}
