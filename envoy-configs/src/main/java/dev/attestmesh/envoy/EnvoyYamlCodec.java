package dev.attestmesh.envoy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Envoy configuration text to protobuf messages and back, the way Envoy reads it: YAML is turned into
 * JSON and parsed with protobuf's canonical JSON mapping, resolving {@code "@type"} through the
 * {@link EnvoyTypeCatalog}. Unknown fields and unknown type URLs are errors, so a misspelt field name
 * cannot pass silently. Printing uses proto field names ({@code stat_prefix}, not {@code statPrefix}).
 * Instances are immutable and thread-safe.
 */
public final class EnvoyYamlCodec {

    private static final ObjectMapper YAML_READER = new YAMLMapper();
    private static final ObjectMapper YAML_WRITER = new ObjectMapper(YAMLFactory.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
            .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
            .enable(YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR)
            .build());
    private static final ObjectMapper JSON = new ObjectMapper();

    private final JsonFormat.Parser parser;
    private final JsonFormat.Printer printer;

    /** A codec resolving {@code "@type"} with {@code catalog}'s registry. */
    public EnvoyYamlCodec(EnvoyTypeCatalog catalog) {
        Objects.requireNonNull(catalog, "catalog");
        this.parser = JsonFormat.parser().usingTypeRegistry(catalog.jsonTypeRegistry());
        this.printer = JsonFormat.printer().usingTypeRegistry(catalog.jsonTypeRegistry()).preservingProtoFieldNames()
                .includingDefaultValueFields(alwaysPrinted(catalog));
    }

    /**
     * Security-relevant switches printed even at their default, so a reader (or a grep in review) sees
     * {@code failure_mode_allow: false} in every ext_authz filter rather than an absence.
     */
    private static Set<FieldDescriptor> alwaysPrinted(EnvoyTypeCatalog catalog) {
        Set<FieldDescriptor> fields = new HashSet<>();
        for (String type : List.of("envoy.extensions.filters.network.ext_authz.v3.ExtAuthz",
                "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz")) {
            catalog.findMessageType(type).map(d -> d.findFieldByName("failure_mode_allow")).ifPresent(fields::add);
        }
        catalog.findMessageType("envoy.config.core.v3.ApiConfigSource")
                .map(d -> d.findFieldByName("set_node_on_first_message_only")).ifPresent(fields::add);
        return fields;
    }

    /**
     * Parses YAML (JSON is accepted too) into a message of {@code prototype}'s type.
     *
     * @param subject names the text in error messages, e.g. its file name
     * @throws EnvoyConfigException if the text is not YAML, names an unknown field or type, or has a value of
     *     the wrong shape
     */
    public <T extends Message> T parseYaml(String yaml, T prototype, String subject) throws EnvoyConfigException {
        JsonNode tree;
        try {
            tree = YAML_READER.readTree(yaml);
        } catch (JsonProcessingException e) {
            throw new EnvoyConfigException(subject, "not valid YAML: " + e.getOriginalMessage(), e);
        }
        if (tree == null || !tree.isObject()) {
            throw new EnvoyConfigException(subject, "expected a YAML mapping at the top level for "
                    + prototype.getDescriptorForType().getFullName(), null);
        }
        return parseJson(tree.toString(), prototype, subject);
    }

    /**
     * Parses protobuf JSON into a message of {@code prototype}'s type.
     *
     * @throws EnvoyConfigException if the JSON is malformed, names an unknown field or type, or has a value of
     *     the wrong shape
     */
    @SuppressWarnings("unchecked")
    public <T extends Message> T parseJson(String json, T prototype, String subject) throws EnvoyConfigException {
        Message.Builder builder = prototype.newBuilderForType();
        try {
            parser.merge(json, builder);
        } catch (InvalidProtocolBufferException e) {
            throw new EnvoyConfigException(subject, "does not fit " + prototype.getDescriptorForType().getFullName()
                    + ": " + e.getMessage(), e);
        }
        return (T) builder.build();
    }

    /** Protobuf JSON with proto field names; every {@code Any} must be of a type in the catalog. */
    public String toJson(MessageOrBuilder message) {
        try {
            return printer.print(message);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("cannot print " + message.getDescriptorForType().getFullName()
                    + " as JSON: " + e.getMessage(), e);
        }
    }

    /** YAML with proto field names, block style, as an Envoy {@code -c} file. */
    public String toYaml(MessageOrBuilder message) {
        try {
            return YAML_WRITER.writeValueAsString(JSON.readTree(toJson(message)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("protobuf JSON did not re-read as JSON", e);
        }
    }
}
