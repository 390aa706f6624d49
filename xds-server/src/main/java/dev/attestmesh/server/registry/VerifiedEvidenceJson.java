package dev.attestmesh.server.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.attestmesh.quote.ReappraisalInputs;
import dev.attestmesh.quote.TcbStatus;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerifiedEvidence;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Stores verified evidence claims as JSON, so a policy change can re-appraise every node from what was
 * verified, without asking the node for new evidence. Only verified claims are stored, and the verified
 * parts a collateral change needs to judge the TCB again ({@code reappraisal}: for Intel the PCK chain
 * and the QE report), never the raw evidence or collateral. The optional {@code platformId} and {@code
 * reappraisal} fields are absent in rows written before they existed and read back as empty.
 */
public final class VerifiedEvidenceJson {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HexFormat HEX = HexFormat.of();

    private VerifiedEvidenceJson() {}

    public static String encode(VerifiedEvidence e) {
        ObjectNode o = JSON.createObjectNode();
        o.put("v", 1);
        o.put("tee", e.tee().wireName());
        o.put("tcbStatus", e.tcbStatus().intelName());
        e.advisoryIds().forEach(o.putArray("advisoryIds")::add);
        o.put("debug", e.debug());
        o.put("insecure", e.insecure());
        o.put("reportData", HEX.formatHex(e.reportData()));
        ObjectNode m = o.putObject("measurements");
        new TreeMap<>(e.measurements()).forEach(m::put);
        ObjectNode n = o.putObject("numbers");
        new TreeMap<>(e.numbers()).forEach(n::put);
        o.put("evidenceSha256", e.evidenceSha256Hex());
        e.fmspcOrChip().ifPresent(v -> o.put("fmspcOrChip", v));
        e.platformId().ifPresent(v -> o.put("platformId", v));
        e.reappraisalInputs().ifPresent(r -> {
            ObjectNode ro = o.putObject("reappraisal");
            ro.put("scheme", r.scheme());
            ObjectNode f = ro.putObject("fields");
            new TreeMap<>(r.fields()).forEach(f::put);
        });
        return o.toString();
    }

    private static Optional<ReappraisalInputs> reappraisal(JsonNode r) {
        if (!r.isObject()) {
            return Optional.empty();
        }
        Map<String, String> fields = new TreeMap<>();
        r.path("fields").properties().forEach(en -> fields.put(en.getKey(), en.getValue().asText()));
        return Optional.of(new ReappraisalInputs(r.path("scheme").asText(), fields));
    }

    /** @throws IOException when the stored text is not what {@link #encode} wrote */
    public static VerifiedEvidence decode(String json) throws IOException {
        JsonNode o = JSON.readTree(json);
        if (o == null || o.path("v").asInt() != 1) {
            throw new IOException("stored evidence claims have an unknown format");
        }
        try {
            List<String> advisories = new ArrayList<>();
            o.path("advisoryIds").forEach(a -> advisories.add(a.asText()));
            Map<String, String> measurements = new TreeMap<>();
            o.path("measurements").properties().forEach(en -> measurements.put(en.getKey(), en.getValue().asText()));
            Map<String, Long> numbers = new TreeMap<>();
            o.path("numbers").properties().forEach(en -> numbers.put(en.getKey(), en.getValue().asLong()));
            return new VerifiedEvidence(TeeType.fromWireName(o.path("tee").asText()),
                    TcbStatus.fromIntelName(o.path("tcbStatus").asText()), advisories, o.path("debug").asBoolean(),
                    o.path("insecure").asBoolean(), HEX.parseHex(o.path("reportData").asText()), measurements, numbers,
                    HEX.parseHex(o.path("evidenceSha256").asText()),
                    o.hasNonNull("fmspcOrChip") ? Optional.of(o.get("fmspcOrChip").asText()) : Optional.empty(),
                    // Rows written before platform ids existed have none; the node's next attestation adds it.
                    o.hasNonNull("platformId") ? Optional.of(o.get("platformId").asText()) : Optional.empty(),
                    reappraisal(o.path("reappraisal")));
        } catch (IllegalArgumentException e) {
            throw new IOException("stored evidence claims are malformed: " + e.getMessage(), e);
        }
    }
}
