package dev.attestmesh.server.store;

import dev.attestmesh.identity.KubernetesIdentity;
import dev.attestmesh.registry.NodeState;
import dev.attestmesh.ca.AttestationClaimsCodec;
import dev.attestmesh.ca.ClaimsDecodeException;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.server.registry.NodeEntry;
import dev.attestmesh.server.registry.VerifiedEvidenceJson;
import java.io.IOException;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/** Persists the node registry: one row per node, its latest attestation and state. */
public final class NodeStore {
    private static final String COLUMNS = "node_id, spiffe_id, tee, measurement, state, state_reason, claims, "
            + "satisfied_policies, cert_chain_pem, cert_serial, cert_sha256, previous_cert_sha256, cert_not_after, "
            + "evidence_expires_at, attested_at, updated_at, evidence_json, registration, key_sha256, k8s_namespace, "
            + "k8s_service_account, k8s_pod_name, k8s_pod_uid";
    private static final List<String> COLUMN_LIST = List.of(COLUMNS.split(", "));
    private static final String SET_COLUMNS =
            COLUMN_LIST.stream().map(col -> col + " = ?").collect(Collectors.joining(", "));
    private static final String PLACEHOLDERS = String.join(", ", java.util.Collections.nCopies(COLUMN_LIST.size(), "?"));
    private final Database db;

    public NodeStore(Database db) {
        this.db = db;
    }

    /**
     * Stores {@code e} as the node's current record, replacing any previous one. Safe when several
     * replicas write the same node at once: the last commit wins and none fails.
     */
    public void upsert(NodeEntry e, Instant now) {
        // Another replica may insert this new node between our UPDATE and INSERT: the retry then updates it.
        retryOnceOnUniqueViolation(() -> writeRow(e, now));
    }

    /** Runs {@code write}, and once more if it failed because a replica inserted one of its rows meanwhile. */
    private static void retryOnceOnUniqueViolation(Runnable write) {
        try {
            write.run();
        } catch (StoreException first) {
            if (!(first.getCause() instanceof SQLException sql) || !Database.isUniqueViolation(sql)) {
                throw first;
            }
            write.run();
        }
    }

    /** Rows per JDBC batch in {@link #updateAppraisals}: one round trip to PostgreSQL each. */
    static final int BATCH = 500;

    /**
     * Stores the result of re-appraising existing nodes, in one transaction: only the columns a re-appraisal
     * changes (state, its reason, satisfied policies, evidence expiry, and the evidence where {@code
     * evidenceChanged} names the node), so the certificate chain, claims and, unless judged anew, the evidence
     * are neither encoded nor written again (on PostgreSQL their TOASTed values stay where they are). A node
     * whose row is gone meanwhile is written whole. All or nothing: one transaction with batched statements
     * costs one commit, not one per node (on the embedded store one file write, on PostgreSQL one WAL flush).
     */
    public void updateAppraisals(List<NodeEntry> entries, java.util.Set<String> evidenceChanged, Instant now) {
        if (entries.isEmpty()) {
            return;
        }
        retryOnceOnUniqueViolation(() -> writeAppraisals(entries, evidenceChanged, now));
    }

    private void writeAppraisals(List<NodeEntry> entries, java.util.Set<String> evidenceChanged, Instant now) {
        db.inTransaction(c -> {
            String common = "UPDATE nodes SET state = ?, state_reason = ?, satisfied_policies = ?, evidence_expires_at = ?, "
                    + "updated_at = ?";
            List<NodeEntry> sameRows = new ArrayList<>();
            List<NodeEntry> judgedRows = new ArrayList<>();
            for (NodeEntry e : entries) {
                (evidenceChanged.contains(e.nodeId()) ? judgedRows : sameRows).add(e);
            }
            List<NodeEntry> gone = new ArrayList<>();
            try (PreparedStatement same = c.prepareStatement(common + " WHERE node_id = ?");
                    PreparedStatement judged = c.prepareStatement(common + ", evidence_json = ? WHERE node_id = ?")) {
                gone.addAll(updateInBatches(same, sameRows, now, false));
                gone.addAll(updateInBatches(judged, judgedRows, now, true));
            }
            insertRows(c, gone, now);
            return null;
        });
    }

    private static List<NodeEntry> updateInBatches(PreparedStatement ps, List<NodeEntry> rows, Instant now,
            boolean withEvidence) throws SQLException {
        List<NodeEntry> gone = new ArrayList<>();
        for (int from = 0; from < rows.size(); from += BATCH) {
            List<NodeEntry> slice = rows.subList(from, Math.min(rows.size(), from + BATCH));
            for (NodeEntry e : slice) {
                int i = 1;
                ps.setString(i++, e.state().name());
                ps.setString(i++, e.stateReason());
                ps.setString(i++, encodePolicies(e.satisfiedPolicies()));
                ps.setTimestamp(i++, Timestamp.from(e.evidenceExpiresAt()));
                ps.setTimestamp(i++, Timestamp.from(now));
                if (withEvidence) {
                    ps.setString(i++, VerifiedEvidenceJson.encode(e.evidence()));
                }
                ps.setString(i, e.nodeId());
                ps.addBatch();
            }
            int[] counts = ps.executeBatch();
            for (int i = 0; i < counts.length; i++) {
                if (counts[i] == 0) {
                    gone.add(slice.get(i));
                }
            }
        }
        return gone;
    }

    private static void insertRows(java.sql.Connection c, List<NodeEntry> rows, Instant now) throws SQLException {
        if (rows.isEmpty()) {
            return;
        }
        try (PreparedStatement ins = c.prepareStatement("INSERT INTO nodes (" + COLUMNS + ") VALUES (" + PLACEHOLDERS + ")")) {
            for (int from = 0; from < rows.size(); from += BATCH) {
                for (NodeEntry e : rows.subList(from, Math.min(rows.size(), from + BATCH))) {
                    bind(ins, e, Encoded.of(e), now);
                    ins.addBatch();
                }
                ins.executeBatch();
            }
        }
    }

    private void writeRow(NodeEntry e, Instant now) {
        Encoded encoded = Encoded.of(e); // once, though a new node's row is bound twice (UPDATE, then INSERT)
        db.inTransaction(c -> {
            // UPDATE first: it waits for a concurrent writer of the same row instead of failing, which a
            // DELETE-then-INSERT does on PostgreSQL.
            try (PreparedStatement upd = c.prepareStatement("UPDATE nodes SET " + SET_COLUMNS + " WHERE node_id = ?")) {
                bind(upd, e, encoded, now);
                upd.setString(COLUMN_LIST.size() + 1, e.nodeId());
                if (upd.executeUpdate() == 1) {
                    return null;
                }
            }
            try (PreparedStatement ins = c.prepareStatement(
                    "INSERT INTO nodes (" + COLUMNS + ") VALUES (" + PLACEHOLDERS + ")")) {
                bind(ins, e, encoded, now);
                ins.executeUpdate();
            }
            return null;
        });
    }

    /** The columns of a node's row that take encoding: its claims, satisfied policies and evidence. */
    private record Encoded(byte[] claims, String policies, String evidence) {
        static Encoded of(NodeEntry e) {
            return new Encoded(AttestationClaimsCodec.encode(e.claims()), encodePolicies(e.satisfiedPolicies()),
                    VerifiedEvidenceJson.encode(e.evidence()));
        }
    }

    private static void bind(PreparedStatement ps, NodeEntry e, Encoded encoded, Instant now) throws SQLException {
        ps.setString(1, e.nodeId());
        ps.setString(2, e.spiffeId());
        ps.setString(3, e.tee().wireName());
        ps.setString(4, e.measurement());
        ps.setString(5, e.state().name());
        ps.setString(6, e.stateReason());
        ps.setBytes(7, encoded.claims());
        ps.setString(8, encoded.policies());
        ps.setString(9, e.certChainPem());
        ps.setString(10, e.certSerialHex());
        ps.setString(11, e.certSha256());
        ps.setString(12, e.previousCertSha256());
        ps.setTimestamp(13, Timestamp.from(e.certNotAfter()));
        ps.setTimestamp(14, Timestamp.from(e.evidenceExpiresAt()));
        ps.setTimestamp(15, Timestamp.from(e.attestedAt()));
        ps.setTimestamp(16, Timestamp.from(now));
        ps.setString(17, encoded.evidence());
        ps.setString(18, e.registration());
        ps.setString(19, e.keySha256());
        ps.setString(20, e.kubernetes().map(KubernetesIdentity::namespace).orElse(""));
        ps.setString(21, e.kubernetes().map(KubernetesIdentity::serviceAccount).orElse(""));
        ps.setString(22, e.kubernetes().map(KubernetesIdentity::podName).orElse(""));
        ps.setString(23, e.kubernetes().map(KubernetesIdentity::podUid).orElse(""));
    }

    /** The node's stored record, if any. */
    public Optional<NodeEntry> load(String nodeId) {
        return db.inTransaction(c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM nodes WHERE node_id = ?")) {
                ps.setString(1, nodeId);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(read(rs)) : Optional.empty();
                }
            }
        });
    }

    public List<NodeEntry> loadAll() {
        return db.inTransaction(c -> {
            List<NodeEntry> out = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM nodes ORDER BY node_id");
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(read(rs));
                }
            }
            return out;
        });
    }

    private static NodeEntry read(ResultSet rs) throws SQLException {
        try {
            return new NodeEntry(rs.getString(1), rs.getString(2), TeeType.fromWireName(rs.getString(3)),
                    rs.getString(4), NodeState.valueOf(rs.getString(5)), rs.getString(6),
                    AttestationClaimsCodec.decode(rs.getBytes(7)), decodePolicies(rs.getString(8)), rs.getString(9),
                    rs.getString(10), rs.getString(11), rs.getString(12), rs.getTimestamp(13).toInstant(),
                    rs.getTimestamp(14).toInstant(), rs.getTimestamp(15).toInstant(),
                    VerifiedEvidenceJson.decode(rs.getString(17)), rs.getString(18), rs.getString(19),
                    rs.getString(23).isEmpty() ? Optional.empty() : Optional.of(new KubernetesIdentity(
                            rs.getString(20), rs.getString(21), rs.getString(22), rs.getString(23))));
        } catch (ClaimsDecodeException | IOException e) {
            throw new SQLException("stored attestation of node " + rs.getString(1) + " does not decode: "
                    + e.getMessage(), e);
        }
    }

    static String encodePolicies(Map<String, Long> p) {
        return p.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(","));
    }

    static Map<String, Long> decodePolicies(String s) {
        Map<String, Long> out = new LinkedHashMap<>();
        if (s.isEmpty()) {
            return out;
        }
        for (String part : s.split(",")) {
            int i = part.lastIndexOf('=');
            out.put(part.substring(0, i), Long.parseLong(part.substring(i + 1)));
        }
        return out;
    }
}
