package dev.attestmesh.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.PrintWriter;
import java.util.function.Consumer;
import picocli.CommandLine.Option;

/**
 * {@code -o table|json|yaml}, shared by every read command: {@code table} (the default) is for people, and
 * {@code json} and {@code yaml} print the admin API's answer itself for scripts, so a field has one name
 * in the API, the JSON and the YAML. Fields keep the order the API gives them (the order of its records),
 * so output is stable between runs. Commands whose answer is made here rather than by the API ({@code log verify}
 * with a checkpoint, {@code evidence verify}, {@code verify}) document their shape in docs/operator-guide.md.
 * {@code CliOutputOptionTest} fails when a read command lacks {@code -o}.
 */
final class OutputOptions {
    /** The formats. */
    enum Format { table, json, yaml }

    /** The values offered by completion and help; {@code text} is also read, as {@code table}. */
    static final class Candidates implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return java.util.List.of("table", "json", "yaml").iterator();
        }
    }

    /**
     * Reads a format, case-insensitively, with {@code text} as another name for {@code table} ({@code attestmesh
     * verify} took {@code -o text|json} before it shared this option).
     */
    static final class FormatConverter implements picocli.CommandLine.ITypeConverter<Format> {
        @Override
        public Format convert(String value) {
            String v = value.strip().toLowerCase(java.util.Locale.ROOT);
            if (v.equals("text")) {
                return Format.table;
            }
            for (Format f : Format.values()) {
                if (f.name().equals(v)) {
                    return f;
                }
            }
            throw new picocli.CommandLine.TypeConversionException("'" + dev.attestmesh.input.UntrustedText.forLog(value,
                    20) + "' is not an output format; use table, json or yaml");
        }
    }

    private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final YAMLMapper YAML = YAMLMapper.builder(YAMLFactory.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER).enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .stringQuotingChecker(new NumberLikeQuoting())
            .build()).build();

    /**
     * Quotes every string that starts like a number: a hex measurement such as {@code 0500000000000000e700} is
     * otherwise written bare and read back by YAML parsers (Jackson's among them) as a float.
     */
    static final class NumberLikeQuoting extends com.fasterxml.jackson.dataformat.yaml.util.StringQuotingChecker.Default {
        @Override
        public boolean needToQuoteValue(String value) {
            if (!value.isEmpty() && "0123456789+-.".indexOf(value.charAt(0)) >= 0) {
                return true;
            }
            return super.needToQuoteValue(value);
        }
    }

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "table",
            converter = FormatConverter.class, completionCandidates = Candidates.class,
            description = "Output format: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).")
    Format format = Format.table;

    /** Prints {@code data} as JSON or YAML, or calls {@code table} to print it for people. */
    void print(PrintWriter out, JsonNode data, Consumer<PrintWriter> table) {
        switch (format) {
            case json -> out.println(json(data));
            case yaml -> out.print(yaml(data));
            case table -> table.accept(out);
        }
        out.flush();
    }

    boolean structured() {
        return format != Format.table;
    }

    static String json(JsonNode data) {
        try {
            return PRETTY.writeValueAsString(data);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render JSON: " + e.getOriginalMessage(), e);
        }
    }

    static String yaml(JsonNode data) {
        try {
            return YAML.writeValueAsString(data);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render YAML: " + e.getOriginalMessage(), e);
        }
    }
}
