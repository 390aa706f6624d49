package dev.attestmesh.trustee;

import com.fasterxml.jackson.databind.JsonNode;
import dev.attestmesh.quote.TeeType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Maps the annotated evidence of a Trustee EAR (the AS verifier's parsed claims, under the TEE's name) to
 * AttestMesh's claim names (docs/policy.md, "Claims"), so that the same reference values appraise evidence
 * whether this control plane or the AS verified it. Annotated evidence is open-ended (each AS verifier
 * adds claims), so claims not listed here are ignored; a listed claim with the wrong type or length is
 * refused ({@link EarCheck#CLAIMS}), never silently dropped.
 *
 * <p>Paths follow Trustee's verifiers: TDX {@code tdx.quote.body.mr_td} etc. and {@code
 * tdx.td_attributes.debug}; SNP {@code snp.measurement}, {@code snp.host_data}, ... and {@code
 * snp.policy_debug_allowed}; SGX {@code sgx.body.mr_enclave}, {@code sgx.body.mr_signer}.
 */
final class AnnotatedEvidenceMapper {
    record Mapped(Map<String, String> measurements, Map<String, Long> numbers, Optional<Boolean> debug) {}

    /** One byte claim: where Trustee puts it, AttestMesh's name, its length in bytes. */
    private record ByteClaim(List<String> path, String name, int bytes) {}

    private record NumberClaim(List<String> path, String name) {}

    private static final List<ByteClaim> TDX = List.of(
            body("mr_td", "mrtd", 48), body("rtmr_0", "rtmr0", 48), body("rtmr_1", "rtmr1", 48),
            body("rtmr_2", "rtmr2", 48), body("rtmr_3", "rtmr3", 48), body("mr_seam", "mrseam", 48),
            body("mrsigner_seam", "mrsignerseam", 48), body("mr_config_id", "mrconfigid", 48),
            body("mr_owner", "mrowner", 48), body("mr_owner_config", "mrownerconfig", 48),
            body("mr_servicetd", "mrservicetd", 48), body("tcb_svn", "tee_tcb_svn", 16),
            body("tee_tcb_svn2", "tee_tcb_svn2", 16));
    private static final List<ByteClaim> SNP = List.of(
            new ByteClaim(List.of("snp", "measurement"), "measurement", 48),
            new ByteClaim(List.of("snp", "host_data"), "host_data", 32),
            new ByteClaim(List.of("snp", "id_key_digest"), "id_key_digest", 48),
            new ByteClaim(List.of("snp", "chip_id"), "chip_id", 64));
    private static final List<NumberClaim> SNP_NUMBERS = List.of(
            new NumberClaim(List.of("snp", "reported_tcb_bootloader"), "reported_tcb.bootloader"),
            new NumberClaim(List.of("snp", "reported_tcb_tee"), "reported_tcb.tee"),
            new NumberClaim(List.of("snp", "reported_tcb_snp"), "reported_tcb.snp"),
            new NumberClaim(List.of("snp", "reported_tcb_microcode"), "reported_tcb.microcode"),
            new NumberClaim(List.of("snp", "platform_smt_enabled"), "platform_smt_enabled"));
    private static final List<ByteClaim> SGX = List.of(
            new ByteClaim(List.of("sgx", "body", "mr_enclave"), "mrenclave", 32),
            new ByteClaim(List.of("sgx", "body", "mr_signer"), "mrsigner", 32));
    private static final List<NumberClaim> SGX_NUMBERS = List.of(
            new NumberClaim(List.of("sgx", "body", "isv_prod_id"), "isvprodid"),
            new NumberClaim(List.of("sgx", "body", "isv_svn"), "isvsvn"));

    private AnnotatedEvidenceMapper() {}

    private static ByteClaim body(String field, String name, int bytes) {
        return new ByteClaim(List.of("tdx", "quote", "body", field), name, bytes);
    }

    static Mapped map(TeeType tee, JsonNode annotated) throws EarRejectedException {
        Map<String, String> m = new LinkedHashMap<>();
        Map<String, Long> n = new LinkedHashMap<>();
        Optional<Boolean> debug = Optional.empty();
        switch (tee) {
            case TDX -> {
                bytes(annotated, TDX, m);
                debug = bool(annotated, List.of("tdx", "td_attributes", "debug"));
            }
            case SNP, AZ_SNP_VTPM -> {
                JsonNode root = tee == TeeType.SNP ? annotated : alias(annotated, "az-snp-vtpm", "azsnpvtpm");
                bytes(root, SNP, m);
                numbers(root, SNP_NUMBERS, n);
                debug = bool(root, List.of("snp", "policy_debug_allowed"));
            }
            case SGX -> {
                bytes(annotated, SGX, m);
                numbers(annotated, SGX_NUMBERS, n);
            }
            case SIM -> {
                // The AS's sample verifier reports no measurement AttestMesh names.
            }
        }
        return new Mapped(m, n, debug);
    }

    /** Azure evidence: Trustee names the TEE "az-snp-vtpm" and nests the SNP claims under "snp" inside it. */
    private static JsonNode alias(JsonNode annotated, String... names) {
        for (String s : names) {
            if (annotated.has(s) && annotated.get(s).isObject()) {
                return annotated.get(s);
            }
        }
        return annotated;
    }

    private static void bytes(JsonNode root, List<ByteClaim> claims, Map<String, String> out) throws EarRejectedException {
        for (ByteClaim c : claims) {
            JsonNode v = at(root, c.path());
            if (v == null) {
                continue;
            }
            String s = v.isTextual() ? v.asText() : "";
            if (s.length() != 2 * c.bytes() || !s.chars().allMatch(java.util.HexFormat::isHexDigit)) {
                throw new EarRejectedException(EarCheck.CLAIMS, "annotated evidence " + String.join(".", c.path())
                        + " must be " + 2 * c.bytes() + " hex digits");
            }
            out.put(c.name(), s.toLowerCase(Locale.ROOT));
        }
    }

    private static void numbers(JsonNode root, List<NumberClaim> claims, Map<String, Long> out) throws EarRejectedException {
        for (NumberClaim c : claims) {
            JsonNode v = at(root, c.path());
            if (v == null) {
                continue;
            }
            long value;
            if (v.isIntegralNumber() && v.canConvertToLong()) {
                value = v.asLong();
            } else if (v.isTextual() && v.asText().matches("[0-9]{1,18}")) {
                value = Long.parseLong(v.asText());
            } else {
                value = -1;
            }
            if (value < 0) {
                throw new EarRejectedException(EarCheck.CLAIMS, "annotated evidence " + String.join(".", c.path())
                        + " must be a non-negative integer");
            }
            out.put(c.name(), value);
        }
    }

    private static Optional<Boolean> bool(JsonNode root, List<String> path) throws EarRejectedException {
        JsonNode v = at(root, path);
        if (v == null) {
            return Optional.empty();
        }
        if (!v.isBoolean()) {
            throw new EarRejectedException(EarCheck.CLAIMS, "annotated evidence " + String.join(".", path)
                    + " must be true or false");
        }
        return Optional.of(v.asBoolean());
    }

    private static JsonNode at(JsonNode root, List<String> path) {
        JsonNode n = root;
        for (String p : path) {
            if (n == null || !n.isObject()) {
                return null;
            }
            n = n.get(p);
        }
        return n == null || n.isNull() ? null : n;
    }
}
