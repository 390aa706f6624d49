package dev.attestmesh.envoy;

import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.FieldOptions;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.OneofDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.ExtensionRegistry;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.UnknownFieldSet;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.pgv.validate.Validate;
import udpa.annotations.Sensitive;
import udpa.annotations.Status;
import io.envoyproxy.pgv.validate.Validate.FieldRules;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Validates Envoy configuration against Envoy's schema as Envoy itself applies it when loading config:
 * the protoc-gen-validate options in the API's descriptors ({@code (validate.rules)} on fields,
 * {@code (validate.required)} on oneofs, {@code (validate.disabled)} and {@code (validate.ignored)} on
 * messages), applied recursively to nested messages, list items, map values and to every
 * {@code google.protobuf.Any} (typed configs of filters, transport sockets, access loggers and so on),
 * which is unpacked with the {@link EnvoyTypeCatalog}'s registry. A typed config of Envoy's frozen v2 API is a
 * violation (Envoy has not accepted v2 types since 1.18). {@code xds.type.v3.TypedStruct} and
 * {@code udpa.type.v1.TypedStruct} typed configs are converted to their target type first, as Envoy does.
 *
 * <p>Guarantees: {@link #validate} never throws for bad data; it returns every violation, in field order,
 * each with its field path. An {@code Any} whose type URL names no type in the api jar, an {@code Any}
 * whose bytes do not parse, and unknown fields anywhere are violations. String values under a
 * {@code (udpa.annotations.sensitive)} field (private keys, passwords) are never quoted in a violation.
 * Not checked: Envoy's runtime-only
 * checks (deprecated fields, cross-resource references such as a cluster name used by a route, extension
 * names vs. typed config types, file existence).
 *
 * <p>Speed: rules are compiled once per field and cached; a validation walks only fields that carry rules
 * or hold messages, and builds path text only for violations. Instances are immutable and thread-safe;
 * share {@link #standard()}.
 */
public final class EnvoyConfigValidator {

    private static final String ANY = "google.protobuf.Any";
    private static final int RULES_EXTENSION_NUMBER = 1071;

    private final EnvoyTypeCatalog catalog;
    private final EnvoyYamlCodec codec;
    private final Map<Descriptor, MessagePlan> plans = new ConcurrentHashMap<>();
    private final Map<FileDescriptor, Boolean> frozenFiles = new ConcurrentHashMap<>();

    /** A validator whose {@code Any} registry is {@code catalog}. */
    public EnvoyConfigValidator(EnvoyTypeCatalog catalog) {
        this.catalog = Objects.requireNonNull(catalog, "catalog");
        this.codec = new EnvoyYamlCodec(catalog);
    }

    /** The shared validator over {@link EnvoyTypeCatalog#standard()}. */
    public static EnvoyConfigValidator standard() {
        return Standard.INSTANCE;
    }

    private static final class Standard {
        static final EnvoyConfigValidator INSTANCE = new EnvoyConfigValidator(EnvoyTypeCatalog.standard());
    }

    /**
     * Every schema violation in {@code message} and everything it contains; empty when it is valid.
     *
     * @param message any Envoy API message (generated or {@link DynamicMessage}), e.g. a {@code Bootstrap},
     *     a {@code Listener} or a {@code Secret}; a builder is validated as it stands
     */
    public List<Violation> validate(MessageOrBuilder message) {
        Objects.requireNonNull(message, "message");
        List<Violation> out = new ArrayList<>();
        Message built = message instanceof Message m ? m : ((Message.Builder) message).buildPartial();
        visitMessage(built, FieldPath.ROOT, false, out);
        return out;
    }

    /**
     * Throws when {@code message} has any violation.
     *
     * @param subject names the config in the exception message, e.g. {@code "listener ingress-15006"}
     * @throws EnvoyConfigException listing every violation
     */
    public void requireValid(MessageOrBuilder message, String subject) throws EnvoyConfigException {
        List<Violation> violations = validate(message);
        if (!violations.isEmpty()) {
            throw new EnvoyConfigException(subject, violations);
        }
    }

    /**
     * Parses YAML (or JSON, which is YAML) into {@code prototype}'s type, rejecting unknown fields and
     * unknown {@code "@type"} URLs, then validates it.
     *
     * @param prototype any instance of the target type, e.g. {@code Bootstrap.getDefaultInstance()}
     * @param subject names the config in error messages, e.g. a file name
     * @return the parsed message, which has no violations
     * @throws EnvoyConfigException if parsing fails or the parsed message has violations
     */
    public <T extends Message> T parseYamlAndValidate(String yaml, T prototype, String subject) throws EnvoyConfigException {
        T parsed = codec.parseYaml(yaml, prototype, subject);
        requireValid(parsed, subject);
        return parsed;
    }

    /**
     * As {@link #parseYamlAndValidate(String, Message, String)} for a type named at run time, e.g.
     * {@code envoy.config.bootstrap.v3.Bootstrap}; the result is a {@link DynamicMessage}.
     *
     * @throws EnvoyConfigException if the type is unknown, parsing fails or there are violations
     */
    public Message parseYamlAndValidate(String yaml, String typeName, String subject) throws EnvoyConfigException {
        Descriptor type = catalog.findMessageType(typeName).orElseThrow(() -> new EnvoyConfigException(subject,
                "no Envoy API message type named " + typeName + " (use a full name such as envoy.config.bootstrap.v3.Bootstrap)",
                null));
        return parseYamlAndValidate(yaml, DynamicMessage.getDefaultInstance(type), subject);
    }

    /** The codec this validator parses with (same type registry). */
    public EnvoyYamlCodec codec() {
        return codec;
    }

    // ---- traversal ------------------------------------------------------------------------------------

    private void visitMessage(Message message, FieldPath path, boolean sensitive, List<Violation> out) {
        Descriptor type = message.getDescriptorForType();
        if (type.getFullName().equals(ANY)) {
            visitAny(message, path, sensitive, out);
            return;
        }
        reportUnknownFields(message.getUnknownFields(), type, path, out);
        MessagePlan plan = plans.computeIfAbsent(type, MessagePlan::compile);
        if (plan.disabled) {
            return;
        }
        for (OneofDescriptor oneof : plan.requiredOneofs) {
            if (!message.hasOneof(oneof)) {
                out.add(new Violation(path.field(oneof.getName()).toString(), "exactly one of "
                        + oneof.getFields().stream().map(FieldDescriptor::getName).toList() + " is required"));
            }
        }
        for (FieldPlan field : plan.fields) {
            visitField(message, field.descriptor, field.rules, path.field(field.descriptor.getName()),
                    sensitive || field.sensitive, out);
        }
    }

    private void visitField(Message message, FieldDescriptor field, FieldRuleSet rules, FieldPath path, boolean sensitive,
                            List<Violation> out) {
        if (field.getContainingOneof() != null && !message.hasField(field)) {
            return; // a oneof member's rules (even message.required) apply only when it is the member set
        }
        if (field.isMapField()) {
            @SuppressWarnings("unchecked")
            List<Message> entries = (List<Message>) message.getField(field);
            if (!rules.checkMap(entries.size(), path, out)) {
                return;
            }
            Descriptor entryType = field.getMessageType();
            FieldDescriptor keyField = entryType.findFieldByNumber(1);
            FieldDescriptor valueField = entryType.findFieldByNumber(2);
            for (Message entry : entries) {
                Object key = entry.getField(keyField);
                FieldPath entryPath = path.key(key);
                visitValue(key, keyField, rules.keys, entryPath, true, sensitive, out);
                visitValue(entry.getField(valueField), valueField, rules.values, entryPath, true, sensitive, out);
            }
        } else if (field.isRepeated()) {
            int count = message.getRepeatedFieldCount(field);
            if (count == 0 && !rules.rules.hasRepeated()) {
                return;
            }
            @SuppressWarnings("unchecked")
            List<Object> elements = (List<Object>) message.getField(field);
            if (!rules.checkRepeated(elements, path, out)) {
                return;
            }
            for (int i = 0; i < count; i++) {
                visitValue(elements.get(i), field, rules.items, path.index(i), true, sensitive, out);
            }
        } else {
            // proto3 scalars without presence are checked even at their default, as protoc-gen-validate does;
            // oneof members, optional scalars and messages only when set
            boolean present = !field.hasPresence() || message.hasField(field);
            visitValue(present ? message.getField(field) : null, field, rules, path, present, sensitive, out);
        }
    }

    private void visitValue(Object value, FieldDescriptor field, FieldRuleSet rules, FieldPath path, boolean present,
                            boolean sensitive, List<Violation> out) {
        if (field.getJavaType() == FieldDescriptor.JavaType.MESSAGE) {
            if (!present) {
                if (rules.required) {
                    out.add(new Violation(path.toString(), "value is required"));
                }
                return;
            }
            Message nested = (Message) value;
            if (!rules.isEmpty()) {
                rules.checkMessage(nested, path, out, sensitive);
            }
            if (!rules.skip) {
                visitMessage(nested, path, sensitive, out);
            }
        } else if (present && !rules.isEmpty()) {
            rules.checkScalar(value, path, out, sensitive);
        }
    }

    private void visitAny(Message any, FieldPath path, boolean sensitive, List<Violation> out) {
        Descriptor anyType = any.getDescriptorForType();
        String typeUrl = (String) any.getField(anyType.findFieldByNumber(1));
        ByteString bytes = (ByteString) any.getField(anyType.findFieldByNumber(2));
        if (typeUrl.isEmpty()) {
            out.add(new Violation(path.toString(), "typed config has no type URL; set \"@type\" to the extension's"
                    + " config type, e.g. type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy"));
            return;
        }
        String typeName = typeUrl.substring(typeUrl.lastIndexOf('/') + 1);
        Descriptor type = catalog.typeRegistry().find(typeName);
        if (type == null) {
            out.add(new Violation(path.toString(), "unknown type URL \"" + typeUrl
                    + "\": no such message in the Envoy API (check the spelling and the API version, v3)"));
            return;
        }
        if (isFrozenV2(type)) {
            out.add(new Violation(path.toString(), "type URL \"" + typeUrl + "\" names a type of Envoy's frozen v2 API,"
                    + " which Envoy no longer accepts; use the v3 type (envoy.extensions.* / envoy.config.*.v3)"));
            return;
        }
        DynamicMessage unpacked;
        try {
            unpacked = DynamicMessage.parseFrom(type, bytes);
        } catch (InvalidProtocolBufferException e) {
            out.add(new Violation(path.toString(), "typed config bytes are not a valid " + typeName + ": " + e.getMessage()));
            return;
        }
        if (typeName.equals("xds.type.v3.TypedStruct") || typeName.equals("udpa.type.v1.TypedStruct")) {
            visitTypedStruct(unpacked, path, sensitive, out);
            return;
        }
        visitMessage(unpacked, path, sensitive, out);
    }

    /** Envoy marks every v2 file {@code (udpa.annotations.file_status).package_version_status = FROZEN}. */
    private boolean isFrozenV2(Descriptor type) {
        return frozenFiles.computeIfAbsent(type.getFile(), file -> file.getOptions().getExtension(Status.fileStatus)
                .getPackageVersionStatus() == Status.PackageVersionStatus.FROZEN);
    }

    private void visitTypedStruct(DynamicMessage typedStruct, FieldPath path, boolean sensitive, List<Violation> out) {
        Descriptor structType = typedStruct.getDescriptorForType();
        String typeUrl = (String) typedStruct.getField(structType.findFieldByName("type_url"));
        Message struct = (Message) typedStruct.getField(structType.findFieldByName("value"));
        String typeName = typeUrl.substring(typeUrl.lastIndexOf('/') + 1);
        Descriptor target = catalog.typeRegistry().find(typeName);
        if (target == null || isFrozenV2(target)) {
            out.add(new Violation(path.field("type_url").toString(), "type URL \"" + typeUrl + "\" names "
                    + (target == null ? "no message in the Envoy API" : "a type of Envoy's frozen v2 API; use the v3 type")));
            return;
        }
        DynamicMessage.Builder converted = DynamicMessage.newBuilder(target);
        try {
            String json = JsonFormat.printer().usingTypeRegistry(catalog.jsonTypeRegistry()).print(struct);
            JsonFormat.parser().usingTypeRegistry(catalog.jsonTypeRegistry()).merge(json, converted);
        } catch (InvalidProtocolBufferException e) {
            out.add(new Violation(path.field("value").toString(), "is not a valid " + typeName + ": " + e.getMessage()));
            return;
        }
        visitMessage(converted.build(), path.field("value"), sensitive, out);
    }

    private static void reportUnknownFields(UnknownFieldSet unknown, Descriptor type, FieldPath path, List<Violation> out) {
        if (!unknown.asMap().isEmpty()) {
            out.add(new Violation(path.toString(), "unknown field number(s) " + unknown.asMap().keySet() + " for "
                    + type.getFullName() + "; the sender uses a different API version or a corrupted encoding"));
        }
    }

    // ---- compiled plans --------------------------------------------------------------------------------

    /**
     * A field to visit: it carries rules, holds messages, or both. {@code sensitive}: marked
     * {@code (udpa.annotations.sensitive)}, so values under it are never quoted in violations.
     */
    private record FieldPlan(FieldDescriptor descriptor, FieldRuleSet rules, boolean sensitive) {
    }

    /** The fields of one message type worth visiting, and its required oneofs. */
    private record MessagePlan(boolean disabled, List<OneofDescriptor> requiredOneofs, List<FieldPlan> fields) {

        static MessagePlan compile(Descriptor type) {
            var options = type.getOptions();
            boolean disabled = options.getExtension(Validate.disabled) || options.getExtension(Validate.ignored);
            List<OneofDescriptor> requiredOneofs = new ArrayList<>();
            for (OneofDescriptor oneof : type.getRealOneofs()) {
                if (oneof.getOptions().getExtension(Validate.required)) {
                    requiredOneofs.add(oneof);
                }
            }
            List<FieldPlan> fields = new ArrayList<>();
            for (FieldDescriptor field : type.getFields()) {
                FieldRules rules = rulesOf(field);
                boolean holdsMessages = field.getJavaType() == FieldDescriptor.JavaType.MESSAGE
                        && (!field.isMapField() || field.getMessageType().findFieldByNumber(2).getJavaType()
                        == FieldDescriptor.JavaType.MESSAGE);
                if (rules != null || holdsMessages) {
                    String where = type.getFullName() + "." + field.getName();
                    fields.add(new FieldPlan(field, rules == null ? FieldRuleSet.NONE : new FieldRuleSet(rules, where),
                            field.getOptions().getExtension(Sensitive.sensitive)));
                }
            }
            return new MessagePlan(disabled, List.copyOf(requiredOneofs), List.copyOf(fields));
        }

        private static FieldRules rulesOf(FieldDescriptor field) {
            FieldOptions options = field.getOptions();
            if (options.hasExtension(Validate.rules)) {
                return options.getExtension(Validate.rules);
            }
            // A descriptor built without the validate extension registered keeps the option as an unknown
            // field; re-read it rather than silently dropping the rule.
            if (options.getUnknownFields().hasField(RULES_EXTENSION_NUMBER)) {
                ExtensionRegistry registry = ExtensionRegistry.newInstance();
                Validate.registerAllExtensions(registry);
                try {
                    FieldOptions reparsed = FieldOptions.parseFrom(options.toByteString(), registry);
                    return reparsed.hasExtension(Validate.rules) ? reparsed.getExtension(Validate.rules) : null;
                } catch (InvalidProtocolBufferException e) {
                    throw new IllegalStateException("the (validate.rules) option of " + field.getFullName()
                            + " does not parse; the api jar is damaged", e);
                }
            }
            return null;
        }
    }
}
