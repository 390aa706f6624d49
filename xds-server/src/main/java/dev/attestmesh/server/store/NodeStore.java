package dev.attestmesh.server.store;

import dev.attestmesh.authz.NodeState;
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
import java.util.stream.Collectors;

/** Persists the node registry. */
public final class NodeStore {
    private static final String COLUMNS = "node_id, spiffe_id, tee, measurement, state, state_reason, claims, "
            + "satisfied_policies, cert_chain_pem, cert_serial, cert_sha256, previous_cert_sha256, cert_not_after, "
            + "evidence_expires_at, attested_at, updated_at, evidence_json";
    private final Database db;

    public NodeStore(Database db) {
        this.db = db;
    }

    public void upsert(NodeEntry e, Instant now) {
        db.inTransaction(c -> {
            try (PreparedStatement del = c.prepareStatement("DELETE FROM nodes WHERE node_id = ?");
                    PreparedStatement ins = c.prepareStatement("INSERT INTO nodes (" + COLUMNS
                            + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                del.setString(1, e.nodeId());
                del.executeUpdate();
                ins.setString(1, e.nodeId());
                ins.setString(2, e.spiffeId());
                ins.setString(3, e.tee().wireName());
                ins.setString(4, e.measurement());
                ins.setString(5, e.state().name());
                ins.setString(6, e.stateReason());
                ins.setBytes(7, AttestationClaimsCodec.encode(e.claims()));
                ins.setString(8, encodePolicies(e.satisfiedPolicies()));
                ins.setString(9, e.certChainPem());
                ins.setString(10, e.certSerialHex());
                ins.setString(11, e.certSha256());
                ins.setString(12, e.previousCertSha256());
                ins.setTimestamp(13, Timestamp.from(e.certNotAfter()));
                ins.setTimestamp(14, Timestamp.from(e.evidenceExpiresAt()));
                ins.setTimestamp(15, Timestamp.from(e.attestedAt()));
                ins.setTimestamp(16, Timestamp.from(now));
                ins.setString(17, VerifiedEvidenceJson.encode(e.evidence()));
                ins.executeUpdate();
            }
            return null;
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
                    VerifiedEvidenceJson.decode(rs.getString(17)));
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
