package dev.attestmesh.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.attestmesh.quote.EvidenceFormat;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code attestmesh evidence verify}: verifies SGX/TDX quotes or SEV-SNP reports completely and prints
 * one JSON object (the default, {@code -o json}: this command printed JSON before it took {@code -o}), the same
 * object as YAML, or a table of its fields. Exit code 0 when verified, 1 when rejected, 2 for usage errors.
 */
@Command(name = "verify", mixinStandardHelpOptions = true,
        description = "Verify a quote or attestation report and print one JSON object (-o yaml or table for other "
                + "formats; exit 0 verified, 1 rejected, 2 usage error).")
final class EvidenceVerifyCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--evidence", required = true, description = "Quote or report: binary, or hex text (0x optional).")
    Path evidence;

    @Option(names = "--ccel-data", description = "TDX: the CCEL event log (e.g. /sys/firmware/acpi/tables/data/CCEL);"
            + " it must replay to the quote's RTMRs, and adds kernel_cmdline_sha384 to the claims.")
    Path ccelData;

    @Option(names = "--ccel-table", description = "TDX: the ACPI CCEL table (/sys/firmware/acpi/tables/CCEL), checked with --ccel-data.")
    Path ccelTable;

    @Option(names = "--at", description = "Verification time, ISO-8601 (default: now).")
    String at;

    @Option(names = "--tee", description = "sgx | tdx | snp | az-snp-vtpm (default: detected from the bytes).")
    String tee;

    @CommandLine.Mixin
    EvidenceSources sources = new EvidenceSources();

    // Not the OutputOptions mixin: its default is table, and this command's output has always been JSON.
    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "json",
            converter = OutputOptions.FormatConverter.class, completionCandidates = OutputOptions.Candidates.class,
            description = "Output format: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).")
    OutputOptions.Format format = OutputOptions.Format.json;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        Instant time;
        byte[] bytes;
        TeeType type;
        try {
            time = at == null ? Instant.now() : Instant.parse(at);
            bytes = readEvidence(evidence);
            type = teeType(tee, EvidenceFormat.detect(bytes));
        } catch (DateTimeParseException e) {
            return usage("--at '" + at + "' is not an ISO-8601 time such as 2025-07-19T10:01:17Z");
        } catch (IllegalArgumentException | IOException e) {
            return usage(e.getMessage());
        }
        ObjectNode result = JSON.createObjectNode();
        result.put("tee", type.wireName());
        try {
            Optional<byte[]> supplied = sources.suppliedCollateral(type);
            VerifiedEvidence v = sources.verifier(type).verify(new VerificationRequest(type, bytes, supplied, time));
            if (ccelData != null) {
                v = dev.attestmesh.quote.tdx.CcelVerifier.withEventLog(v, ccelTable == null ? Optional.empty()
                        : Optional.of(Files.readAllBytes(ccelTable)), Files.readAllBytes(ccelData));
            }
            result.put("verified", true);
            result.put("status", v.tcbStatus().intelName());
            v.advisoryIds().forEach(result.putArray("advisoryIds")::add);
            ObjectNode m = result.putObject("measurements");
            new TreeMap<>(v.measurements()).forEach(m::put);
            result.put("reportData", HexFormat.of().formatHex(v.reportData()));
            result.put("debug", v.debug());
            result.put("insecure", v.insecure());
            v.fmspcOrChip().ifPresent(f -> result.put(type == TeeType.SNP || type == TeeType.AZ_SNP_VTPM ? "chipId" : "fmspc", f));
            v.platformId().ifPresent(p -> result.put("platformId", p));
            result.put("verifiedAt", time.toString());
            print(out, result);
            return 0;
        } catch (EvidenceVerificationException e) {
            result.put("verified", false);
            ObjectNode err = result.putObject("error");
            err.put("check", e.check().name());
            err.put("message", e.getMessage());
            result.put("verifiedAt", time.toString());
            print(out, result);
            return 1;
        } catch (EvidenceSources.ConfigurationException e) {
            result.put("verified", false);
            ObjectNode err = result.putObject("error");
            err.put("check", "CONFIGURATION");
            err.put("message", e.getMessage());
            print(out, result);
            return 1;
        } catch (IOException e) {
            return usage(e.getMessage());
        }
    }

    /** The result in the chosen format; the table is one {@code field: value} line per field, nested ones dotted. */
    private void print(PrintWriter out, ObjectNode result) {
        switch (format) {
            case json -> out.println(OutputOptions.json(result));
            case yaml -> out.print(OutputOptions.yaml(result));
            case table -> table(out, "", result);
        }
        out.flush();
    }

    private static void table(PrintWriter out, String prefix, com.fasterxml.jackson.databind.JsonNode node) {
        if (node.isObject()) {
            node.properties().forEach(e -> table(out, prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(),
                    e.getValue()));
        } else if (node.isArray()) {
            java.util.List<String> items = new java.util.ArrayList<>();
            node.forEach(n -> items.add(n.asText()));
            out.printf("%-32s %s%n", prefix, items.isEmpty() ? "-" : String.join(", ", items));
        } else {
            out.printf("%-32s %s%n", prefix, node.asText());
        }
    }

    private int usage(String message) {
        spec.commandLine().getErr().println("attestmesh evidence verify: " + message);
        return 2;
    }

    /** Binary evidence, or hex text with an optional 0x prefix. */
    static byte[] readEvidence(Path file) throws IOException {
        byte[] raw = Files.readAllBytes(file);
        String text = new String(raw, StandardCharsets.US_ASCII).strip();
        if (text.startsWith("0x") || text.startsWith("0X")) {
            text = text.substring(2);
        }
        if (!text.isEmpty() && text.length() % 2 == 0 && text.chars().allMatch(HexFormat::isHexDigit)) {
            return HexFormat.of().parseHex(text);
        }
        if (raw.length == 0) {
            throw new IOException("evidence file " + file + " is empty");
        }
        return raw;
    }

    /**
     * The TEE type to verify as: the one the bytes are framed as ({@link EvidenceFormat}), or the declared
     * {@code --tee}, which must agree with the framing when the framing is recognised.
     *
     * @throws IllegalArgumentException when nothing is declared and the bytes are not recognised, when the
     *     declaration contradicts the bytes, or for simulated evidence not declared as such
     */
    static TeeType teeType(String declared, EvidenceFormat detected) {
        if (declared == null) {
            TeeType t = detected.tee().orElseThrow(() -> new IllegalArgumentException("cannot tell the evidence type "
                    + "from its bytes (not a DCAP quote v3-v5, an SNP report, an Azure HCL report or Azure vTPM JSON);"
                    + " pass --tee"));
            if (t == TeeType.SIM) {
                throw new IllegalArgumentException("simulated evidence: pass --tee sim to verify it explicitly");
            }
            return t;
        }
        TeeType t = TeeType.fromWireName(declared);
        if (detected.tee().isPresent() && detected.tee().get() != t) {
            throw new IllegalArgumentException("--tee " + t.wireName() + " contradicts the evidence, whose bytes are "
                    + detected.description() + " ('" + detected.tee().get().wireName() + "'); drop --tee or fix it");
        }
        return t;
    }
}
