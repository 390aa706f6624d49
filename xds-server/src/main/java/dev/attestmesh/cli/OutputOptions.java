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
 * so output is stable between runs.
 */
final class OutputOptions {
    /** The formats. */
    enum Format { table, json, yaml }

    private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final YAMLMapper YAML = YAMLMapper.builder(YAMLFactory.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER).enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .build()).build();

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "table",
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
