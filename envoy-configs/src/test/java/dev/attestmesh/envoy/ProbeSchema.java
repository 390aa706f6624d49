package dev.attestmesh.envoy;

import com.google.protobuf.AnyProto;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumDescriptorProto;
import com.google.protobuf.DescriptorProtos.EnumValueDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Label;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type;
import com.google.protobuf.DescriptorProtos.FieldOptions;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.MessageOptions;
import com.google.protobuf.DescriptorProtos.OneofDescriptorProto;
import com.google.protobuf.DescriptorProtos.OneofOptions;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.DescriptorValidationException;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.DurationProto;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.TimestampProto;
import com.google.protobuf.WrappersProto;
import io.envoyproxy.pgv.validate.Validate;
import io.envoyproxy.pgv.validate.Validate.FieldRules;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Builds, per test, a proto3 message type {@code probeN.Probe} whose fields carry exactly the
 * {@code (validate.rules)} under test, so each rule kind is exercised on its own. Every schema also has
 * an enum {@code Color} (0, 1, 2), a message {@code Child} whose {@code name} needs {@code min_len: 1}, and
 * a copy {@code Quiet} of it marked {@code (validate.disabled)}.
 */
final class ProbeSchema {

    private static final AtomicInteger COUNTER = new AtomicInteger();

    private final String pkg = "probe" + COUNTER.incrementAndGet();
    private final DescriptorProto.Builder probe = DescriptorProto.newBuilder().setName("Probe");
    private int nextNumber = 1;

    ProbeSchema scalar(String name, Type type, FieldRules rules) {
        probe.addField(field(name, type, Label.LABEL_OPTIONAL, null, rules));
        return this;
    }

    /** A scalar marked {@code (udpa.annotations.sensitive)}. */
    ProbeSchema sensitiveScalar(String name, Type type, FieldRules rules) {
        FieldDescriptorProto field = field(name, type, Label.LABEL_OPTIONAL, null, rules);
        probe.addField(field.toBuilder().setOptions(field.getOptions().toBuilder()
                .setExtension(udpa.annotations.Sensitive.sensitive, true)));
        return this;
    }

    ProbeSchema repeated(String name, Type type, FieldRules rules) {
        probe.addField(field(name, type, Label.LABEL_REPEATED, null, rules));
        return this;
    }

    /** A message field; {@code typeName} like {@code .google.protobuf.Duration}, or "Child"/"Quiet"/"Color". */
    ProbeSchema message(String name, String typeName, FieldRules rules) {
        probe.addField(field(name, Type.TYPE_MESSAGE, Label.LABEL_OPTIONAL, resolve(typeName), rules));
        return this;
    }

    ProbeSchema repeatedMessage(String name, String typeName, FieldRules rules) {
        probe.addField(field(name, Type.TYPE_MESSAGE, Label.LABEL_REPEATED, resolve(typeName), rules));
        return this;
    }

    ProbeSchema enumField(String name, FieldRules rules) {
        probe.addField(field(name, Type.TYPE_ENUM, Label.LABEL_OPTIONAL, "." + pkg + ".Color", rules));
        return this;
    }

    /** {@code map<string, Child>} when {@code valueType} is null, else {@code map<string, valueType>}. */
    ProbeSchema map(String name, Type valueType, FieldRules rules) {
        String entryName = Character.toUpperCase(name.charAt(0)) + name.substring(1) + "Entry";
        DescriptorProto.Builder entry = DescriptorProto.newBuilder().setName(entryName)
                .setOptions(MessageOptions.newBuilder().setMapEntry(true))
                .addField(FieldDescriptorProto.newBuilder().setName("key").setNumber(1).setType(Type.TYPE_STRING)
                        .setLabel(Label.LABEL_OPTIONAL));
        FieldDescriptorProto.Builder value = FieldDescriptorProto.newBuilder().setName("value").setNumber(2)
                .setLabel(Label.LABEL_OPTIONAL);
        if (valueType == null) {
            value.setType(Type.TYPE_MESSAGE).setTypeName("." + pkg + ".Child");
        } else {
            value.setType(valueType);
        }
        probe.addNestedType(entry.addField(value));
        probe.addField(field(name, Type.TYPE_MESSAGE, Label.LABEL_REPEATED, "." + pkg + ".Probe." + entryName, rules));
        return this;
    }

    /** A oneof of two strings {@code <name>_a} and {@code <name>_b}. */
    ProbeSchema oneof(String name, boolean required) {
        return oneof(name, required, null);
    }

    /** A oneof of two strings {@code <name>_a} and {@code <name>_b}, both carrying {@code memberRules}. */
    ProbeSchema oneof(String name, boolean required, FieldRules memberRules) {
        int index = probe.getOneofDeclCount();
        probe.addOneofDecl(OneofDescriptorProto.newBuilder().setName(name)
                .setOptions(OneofOptions.newBuilder().setExtension(Validate.required, required)));
        for (String suffix : new String[] {"_a", "_b"}) {
            probe.addField(field(name + suffix, Type.TYPE_STRING, Label.LABEL_OPTIONAL, null, memberRules).toBuilder()
                    .setOneofIndex(index).build());
        }
        return this;
    }

    Descriptor build() {
        FieldRules childName = FieldRules.newBuilder()
                .setString(Validate.StringRules.newBuilder().setMinLen(1)).build();
        DescriptorProto child = DescriptorProto.newBuilder().setName("Child")
                .addField(FieldDescriptorProto.newBuilder().setName("name").setNumber(1).setType(Type.TYPE_STRING)
                        .setLabel(Label.LABEL_OPTIONAL)
                        .setOptions(FieldOptions.newBuilder().setExtension(Validate.rules, childName)))
                .build();
        DescriptorProto quiet = child.toBuilder().setName("Quiet")
                .setOptions(MessageOptions.newBuilder().setExtension(Validate.disabled, true)).build();
        EnumDescriptorProto color = EnumDescriptorProto.newBuilder().setName("Color")
                .addValue(EnumValueDescriptorProto.newBuilder().setName("COLOR_UNSPECIFIED").setNumber(0))
                .addValue(EnumValueDescriptorProto.newBuilder().setName("RED").setNumber(1))
                .addValue(EnumValueDescriptorProto.newBuilder().setName("GREEN").setNumber(2))
                .build();
        FileDescriptorProto file = FileDescriptorProto.newBuilder()
                .setName(pkg + "/probe.proto").setPackage(pkg).setSyntax("proto3")
                .addDependency("validate/validate.proto")
                .addDependency("udpa/annotations/sensitive.proto")
                .addDependency("google/protobuf/any.proto")
                .addDependency("google/protobuf/duration.proto")
                .addDependency("google/protobuf/timestamp.proto")
                .addDependency("google/protobuf/wrappers.proto")
                .addEnumType(color).addMessageType(child).addMessageType(quiet).addMessageType(probe)
                .build();
        try {
            FileDescriptor built = FileDescriptor.buildFrom(file, new FileDescriptor[] {
                    Validate.getDescriptor(), udpa.annotations.Sensitive.getDescriptor(), AnyProto.getDescriptor(), DurationProto.getDescriptor(),
                    TimestampProto.getDescriptor(), WrappersProto.getDescriptor()});
            return built.findMessageTypeByName("Probe");
        } catch (DescriptorValidationException e) {
            throw new IllegalStateException("test schema does not build: " + e.getMessage(), e);
        }
    }

    static DynamicMessage.Builder child(Descriptor probe, String name) {
        Descriptor child = probe.getFile().findMessageTypeByName("Child");
        return DynamicMessage.newBuilder(child).setField(child.findFieldByName("name"), name);
    }

    private String resolve(String typeName) {
        return typeName.startsWith(".") ? typeName : "." + pkg + "." + typeName;
    }

    private FieldDescriptorProto field(String name, Type type, Label label, String typeName, FieldRules rules) {
        FieldDescriptorProto.Builder field = FieldDescriptorProto.newBuilder()
                .setName(name).setNumber(nextNumber++).setType(type).setLabel(label);
        if (typeName != null) {
            field.setTypeName(typeName);
        }
        if (rules != null) {
            field.setOptions(FieldOptions.newBuilder().setExtension(Validate.rules, rules));
        }
        return field.build();
    }
}
