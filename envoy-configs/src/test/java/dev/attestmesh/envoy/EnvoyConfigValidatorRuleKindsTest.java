package dev.attestmesh.envoy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Any;
import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.FieldDescriptorProto.Type;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Duration;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.Timestamp;
import com.google.protobuf.UInt32Value;
import io.envoyproxy.envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy;
import io.envoyproxy.pgv.validate.Validate;
import io.envoyproxy.pgv.validate.Validate.FieldRules;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/**
 * Each protoc-gen-validate rule kind Envoy uses, on a schema built for the test: a value breaking the rule
 * is reported with its path and the rule, and a value keeping it is not.
 */
class EnvoyConfigValidatorRuleKindsTest {

    private final EnvoyConfigValidator validator = EnvoyConfigValidator.standard();

    private static FieldRules string(UnaryOperator<Validate.StringRules.Builder> rule) {
        return FieldRules.newBuilder().setString(rule.apply(Validate.StringRules.newBuilder())).build();
    }

    private List<String> violationsOf(Descriptor type, String field, Object value) {
        DynamicMessage.Builder message = DynamicMessage.newBuilder(type);
        FieldDescriptor descriptor = type.findFieldByName(field);
        if (value instanceof List<?> list) {
            list.forEach(item -> message.addRepeatedField(descriptor, item));
        } else if (value != null) {
            message.setField(descriptor, value);
        }
        return validator.validate(message.build()).stream().map(Violation::toString).toList();
    }

    private static Descriptor withScalar(Type type, FieldRules rules) {
        return new ProbeSchema().scalar("v", type, rules).build();
    }

    @Nested
    class Strings {
        @Test
        void minLenCountsCodePointsAndAppliesToTheUnsetDefault() {
            Descriptor type = withScalar(Type.TYPE_STRING, string(s -> s.setMinLen(2)));
            assertEquals(List.of("v: length 0 < min_len 2"), violationsOf(type, "v", null));
            assertEquals(List.of("v: length 1 < min_len 2"), violationsOf(type, "v", "\uD83D\uDE00"));
            assertEquals(List.of(), violationsOf(type, "v", "ab"));
        }

        @Test
        void maxLenAndLen() {
            assertEquals(List.of("v: length 4 > max_len 3"),
                    violationsOf(withScalar(Type.TYPE_STRING, string(s -> s.setMaxLen(3))), "v", "abcd"));
            assertEquals(List.of("v: length 2 != len 3"),
                    violationsOf(withScalar(Type.TYPE_STRING, string(s -> s.setLen(3))), "v", "ab"));
        }

        @Test
        void minAndMaxBytesCountUtf8Bytes() {
            Descriptor type = withScalar(Type.TYPE_STRING, string(s -> s.setMinBytes(3).setMaxBytes(4)));
            assertEquals(List.of("v: 2 bytes < min_bytes 3"), violationsOf(type, "v", "é"));
            assertEquals(List.of("v: 6 bytes > max_bytes 4"), violationsOf(type, "v", "ééé"));
            assertEquals(List.of(), violationsOf(type, "v", "éé"));
        }

        @Test
        void patternIsAnUnanchoredSearchAsInRe2() {
            Descriptor type = withScalar(Type.TYPE_STRING, string(s -> s.setPattern("^$|^.*\\.mmdb$")));
            assertEquals(List.of("v: \"geo.db\" does not match pattern \"^$|^.*\\.mmdb$\""), violationsOf(type, "v", "geo.db"));
            assertEquals(List.of(), violationsOf(type, "v", "/etc/geo.mmdb"));
            assertEquals(List.of(), violationsOf(withScalar(Type.TYPE_STRING, string(s -> s.setPattern("b+"))), "v", "abba"));
        }

        @Test
        void prefixSuffixContainsAndConst() {
            assertEquals(List.of("v: \"http://x\" does not start with prefix \"https://\""),
                    violationsOf(withScalar(Type.TYPE_STRING, string(s -> s.setPrefix("https://"))), "v", "http://x"));
            assertEquals(List.of("v: \"a.txt\" does not end with suffix \".pem\""),
                    violationsOf(withScalar(Type.TYPE_STRING, string(s -> s.setSuffix(".pem"))), "v", "a.txt"));
            assertEquals(List.of("v: \"a/../b\" contains forbidden \"..\""),
                    violationsOf(withScalar(Type.TYPE_STRING, string(s -> s.setNotContains(".."))), "v", "a/../b"));
            assertEquals(List.of("v: \"x\" != const \"y\""),
                    violationsOf(withScalar(Type.TYPE_STRING, string(s -> s.setConst("y"))), "v", "x"));
        }

        @Test
        void inAndNotIn() {
            Descriptor in = withScalar(Type.TYPE_STRING, string(s -> s.addIn("a").addIn("b")));
            assertEquals(List.of("v: \"c\" not in [a, b]"), violationsOf(in, "v", "c"));
            assertEquals(List.of(), violationsOf(in, "v", "b"));
            Descriptor notIn = withScalar(Type.TYPE_STRING, string(s -> s.addNotIn("root")));
            assertEquals(List.of("v: \"root\" is in not_in [root]"), violationsOf(notIn, "v", "root"));
        }

        @Test
        void strictHttpHeaderNameRefusesSpacesAndNonStrictOnlyRefusesLineBreaks() {
            Descriptor strict = withScalar(Type.TYPE_STRING,
                    string(s -> s.setWellKnownRegex(Validate.KnownRegex.HTTP_HEADER_NAME)));
            assertEquals(List.of("v: \"x bad\" is not a valid HTTP header name"), violationsOf(strict, "v", "x bad"));
            assertEquals(List.of(), violationsOf(strict, "v", ":authority"));
            assertEquals(List.of(), violationsOf(strict, "v", "x-attestmesh-policy-ids"));
            Descriptor lax = withScalar(Type.TYPE_STRING,
                    string(s -> s.setWellKnownRegex(Validate.KnownRegex.HTTP_HEADER_NAME).setStrict(false)));
            assertEquals(List.of(), violationsOf(lax, "v", "x bad"));
            assertEquals(List.of("v: \"x\\x0abad\" is not a valid HTTP header name (non-strict)"), violationsOf(lax, "v", "x\nbad"));
        }

        @Test
        void strictHttpHeaderValueRefusesControlCharactersButAllowsTab() {
            Descriptor strict = withScalar(Type.TYPE_STRING,
                    string(s -> s.setWellKnownRegex(Validate.KnownRegex.HTTP_HEADER_VALUE)));
            assertEquals(List.of("v: \"a\\x01\" is not a valid HTTP header value"), violationsOf(strict, "v", "a\u0001"));
            assertEquals(List.of(), violationsOf(strict, "v", "a\tb c"));
        }

        @Test
        void hostnameIpAndAddressFormats() {
            Descriptor hostname = withScalar(Type.TYPE_STRING, string(s -> s.setHostname(true)));
            assertEquals(List.of(), violationsOf(hostname, "v", "orders.mesh.internal"));
            assertEquals(List.of("v: \"-bad.example\" is not a hostname"), violationsOf(hostname, "v", "-bad.example"));
            Descriptor ip = withScalar(Type.TYPE_STRING, string(s -> s.setIp(true)));
            assertEquals(List.of(), violationsOf(ip, "v", "127.0.0.1"));
            assertEquals(List.of(), violationsOf(ip, "v", "fd00::1"));
            assertEquals(List.of("v: \"256.1.1.1\" is not an IP address"), violationsOf(ip, "v", "256.1.1.1"));
            assertEquals(List.of("v: \"10.1\" is not an IP address"), violationsOf(ip, "v", "10.1"));
            Descriptor address = withScalar(Type.TYPE_STRING, string(s -> s.setAddress(true)));
            assertEquals(List.of(), violationsOf(address, "v", "::1"));
            assertEquals(List.of(), violationsOf(address, "v", "control-plane.attestmesh"));
            assertEquals(List.of("v: \"bad host\" is not a hostname or IP address"), violationsOf(address, "v", "bad host"));
        }

        @Test
        void uriAndUuidFormats() {
            assertEquals(List.of("v: \"/relative\" is not an absolute URI"),
                    violationsOf(withScalar(Type.TYPE_STRING, string(s -> s.setUri(true))), "v", "/relative"));
            assertEquals(List.of("v: \"nope\" is not a UUID"),
                    violationsOf(withScalar(Type.TYPE_STRING, string(s -> s.setUuid(true))), "v", "nope"));
        }

        @Test
        void valuesOfSensitiveFieldsAreNeverQuoted() {
            Descriptor type = new ProbeSchema().sensitiveScalar("secret", Type.TYPE_STRING,
                    string(s -> s.setPattern("^[a-z]+$"))).build();
            assertEquals(List.of("secret: the sensitive value does not match pattern \"^[a-z]+$\""),
                    violationsOf(type, "secret", "Hunter2-Password"));
        }

        @Test
        void ignoreEmptySkipsTheEmptyString() {
            Descriptor type = withScalar(Type.TYPE_STRING, string(s -> s.setMinLen(3).setIgnoreEmpty(true)));
            assertEquals(List.of(), violationsOf(type, "v", null));
            assertEquals(List.of("v: length 1 < min_len 3"), violationsOf(type, "v", "a"));
        }
    }

    @Test
    void bytesLengthAndIpRules() {
        Descriptor len = withScalar(Type.TYPE_BYTES, FieldRules.newBuilder()
                .setBytes(Validate.BytesRules.newBuilder().setMinLen(2).setMaxLen(3)).build());
        assertEquals(List.of("v: length 1 < min_len 2"), violationsOf(len, "v", ByteString.copyFrom(new byte[1])));
        assertEquals(List.of("v: length 4 > max_len 3"), violationsOf(len, "v", ByteString.copyFrom(new byte[4])));
        Descriptor ip = withScalar(Type.TYPE_BYTES, FieldRules.newBuilder()
                .setBytes(Validate.BytesRules.newBuilder().setIpv4(true)).build());
        assertEquals(List.of("v: 5 bytes is not an IPv4 address (4 bytes)"), violationsOf(ip, "v", ByteString.copyFrom(new byte[5])));
        assertEquals(List.of(), violationsOf(ip, "v", ByteString.copyFrom(new byte[4])));
    }

    @Nested
    class Numbers {
        @Test
        void uint32GtAndLteLikeEnvoysPortValue() {
            Descriptor type = withScalar(Type.TYPE_UINT32, FieldRules.newBuilder()
                    .setUint32(Validate.UInt32Rules.newBuilder().setGt(0).setLte(65535)).build());
            assertEquals(List.of("v: value 0 is outside (0, 65535] (gt, lte)"), violationsOf(type, "v", null));
            assertEquals(List.of("v: value 65536 is outside (0, 65535] (gt, lte)"), violationsOf(type, "v", 65536));
            assertEquals(List.of(), violationsOf(type, "v", 15010));
        }

        @Test
        void uint32ComparesUnsigned() {
            Descriptor type = withScalar(Type.TYPE_UINT32, FieldRules.newBuilder()
                    .setUint32(Validate.UInt32Rules.newBuilder().setLte(100)).build());
            assertEquals(List.of("v: value 4294967295 > lte 100"), violationsOf(type, "v", -1));
        }

        @Test
        void uint64ComparesUnsigned() {
            Descriptor type = withScalar(Type.TYPE_UINT64, FieldRules.newBuilder()
                    .setUint64(Validate.UInt64Rules.newBuilder().setLt(10)).build());
            assertEquals(List.of("v: value 18446744073709551615 >= lt 10"), violationsOf(type, "v", -1L));
            assertEquals(List.of(), violationsOf(type, "v", 9L));
        }

        @Test
        void int32InAndNotIn() {
            Descriptor in = withScalar(Type.TYPE_INT32, FieldRules.newBuilder()
                    .setInt32(Validate.Int32Rules.newBuilder().addIn(1).addIn(2)).build());
            assertEquals(List.of("v: value 3 not in [1, 2]"), violationsOf(in, "v", 3));
            Descriptor notIn = withScalar(Type.TYPE_INT32, FieldRules.newBuilder()
                    .setInt32(Validate.Int32Rules.newBuilder().addNotIn(0)).build());
            assertEquals(List.of("v: value 0 is in not_in [0]"), violationsOf(notIn, "v", null));
        }

        @Test
        void int64ConstAndGte() {
            Descriptor type = withScalar(Type.TYPE_INT64, FieldRules.newBuilder()
                    .setInt64(Validate.Int64Rules.newBuilder().setConst(7)).build());
            assertEquals(List.of("v: value 8 != const 7"), violationsOf(type, "v", 8L));
            Descriptor gte = withScalar(Type.TYPE_INT64, FieldRules.newBuilder()
                    .setInt64(Validate.Int64Rules.newBuilder().setGte(-5)).build());
            assertEquals(List.of("v: value -6 < gte -5"), violationsOf(gte, "v", -6L));
        }

        @Test
        void doubleAndFloatBounds() {
            Descriptor percent = withScalar(Type.TYPE_DOUBLE, FieldRules.newBuilder()
                    .setDouble(Validate.DoubleRules.newBuilder().setGte(0).setLte(100)).build());
            assertEquals(List.of("v: value 100.5 is outside [0.0, 100.0] (gte, lte)"), violationsOf(percent, "v", 100.5));
            assertEquals(List.of(), violationsOf(percent, "v", 99.9));
            Descriptor positive = withScalar(Type.TYPE_FLOAT, FieldRules.newBuilder()
                    .setFloat(Validate.FloatRules.newBuilder().setGt(0)).build());
            assertEquals(List.of("v: value -0.5 <= gt 0.0"), violationsOf(positive, "v", -0.5f));
        }

        @Test
        void lowerBoundAboveUpperBoundMeansOutsideTheRange() {
            Descriptor type = withScalar(Type.TYPE_INT32, FieldRules.newBuilder()
                    .setInt32(Validate.Int32Rules.newBuilder().setLt(10).setGt(20)).build());
            assertEquals(List.of("v: value 15 must lie outside [10, 20] (lt, gt)"), violationsOf(type, "v", 15));
            assertEquals(List.of(), violationsOf(type, "v", 5));
            assertEquals(List.of(), violationsOf(type, "v", 25));
        }

        @Test
        void wrapperValuesAreCheckedOnlyWhenSet() {
            Descriptor type = new ProbeSchema().message("v", ".google.protobuf.UInt32Value", FieldRules.newBuilder()
                    .setUint32(Validate.UInt32Rules.newBuilder().setGte(1)).build()).build();
            assertEquals(List.of(), violationsOf(type, "v", null));
            assertEquals(List.of("v: value 0 < gte 1"), violationsOf(type, "v", UInt32Value.of(0)));
            assertEquals(List.of(), violationsOf(type, "v", UInt32Value.of(3)));
        }
    }

    @Test
    void boolConst() {
        Descriptor type = withScalar(Type.TYPE_BOOL, FieldRules.newBuilder()
                .setBool(Validate.BoolRules.newBuilder().setConst(true)).build());
        assertEquals(List.of("v: value false != const true"), violationsOf(type, "v", null));
        assertEquals(List.of(), violationsOf(type, "v", true));
    }

    @Test
    void enumDefinedOnlyInAndNotIn() {
        Descriptor definedOnly = new ProbeSchema().enumField("v", FieldRules.newBuilder()
                .setEnum(Validate.EnumRules.newBuilder().setDefinedOnly(true)).build()).build();
        var color = definedOnly.findFieldByName("v").getEnumType();
        assertEquals(List.of("v: enum value 9 is not defined in " + color.getFullName() + " (defined_only)"),
                violationsOf(definedOnly, "v", color.findValueByNumberCreatingIfUnknown(9)));
        assertEquals(List.of(), violationsOf(definedOnly, "v", color.findValueByNumber(2)));
        Descriptor notIn = new ProbeSchema().enumField("v", FieldRules.newBuilder()
                .setEnum(Validate.EnumRules.newBuilder().setDefinedOnly(true).addNotIn(0)).build()).build();
        assertEquals(List.of("v: enum value 0 is in not_in [0]"), violationsOf(notIn, "v", null));
        Descriptor in = new ProbeSchema().enumField("v", FieldRules.newBuilder()
                .setEnum(Validate.EnumRules.newBuilder().addIn(1)).build()).build();
        assertEquals(List.of("v: enum value 2 not in [1]"),
                violationsOf(in, "v", in.findFieldByName("v").getEnumType().findValueByNumber(2)));
    }

    @Nested
    class Messages {
        @Test
        void requiredMessageMustBeSet() {
            Descriptor type = new ProbeSchema().message("child", "Child", FieldRules.newBuilder()
                    .setMessage(Validate.MessageRules.newBuilder().setRequired(true)).build()).build();
            assertEquals(List.of("child: value is required"), violationsOf(type, "child", null));
        }

        @Test
        void nestedMessagesAreValidatedRecursively() {
            Descriptor type = new ProbeSchema().message("child", "Child", null).build();
            assertEquals(List.of("child.name: length 0 < min_len 1"),
                    violationsOf(type, "child", ProbeSchema.child(type, "").build()));
            assertEquals(List.of(), violationsOf(type, "child", ProbeSchema.child(type, "ok").build()));
        }

        @Test
        void skipStopsRecursion() {
            Descriptor type = new ProbeSchema().message("child", "Child", FieldRules.newBuilder()
                    .setMessage(Validate.MessageRules.newBuilder().setSkip(true)).build()).build();
            assertEquals(List.of(), violationsOf(type, "child", ProbeSchema.child(type, "").build()));
        }

        @Test
        void disabledMessagesAreNotValidated() {
            Descriptor type = new ProbeSchema().message("quiet", "Quiet", null).build();
            Descriptor quiet = type.getFile().findMessageTypeByName("Quiet");
            DynamicMessage bad = DynamicMessage.newBuilder(quiet).setField(quiet.findFieldByName("name"), "").build();
            assertEquals(List.of(), violationsOf(type, "quiet", bad));
        }

        @Test
        void rulesOfAOneofMemberApplyOnlyWhenItIsTheMemberSet() {
            Descriptor type = new ProbeSchema().oneof("choice", false, string(s -> s.setMinLen(2))).build();
            assertEquals(List.of(), violationsOf(type, "choice_a", null));
            assertEquals(List.of(), violationsOf(type, "choice_b", "ok"));
            assertEquals(List.of("choice_a: length 1 < min_len 2"), violationsOf(type, "choice_a", "x"));
        }

        @Test
        void requiredOneofNeedsOneMember() {
            Descriptor type = new ProbeSchema().oneof("choice", true).build();
            assertEquals(List.of("choice: exactly one of [choice_a, choice_b] is required"), violationsOf(type, "choice_a", null));
            assertEquals(List.of(), violationsOf(type, "choice_b", "x"));
            Descriptor optional = new ProbeSchema().oneof("choice", false).build();
            assertEquals(List.of(), violationsOf(optional, "choice_a", null));
        }
    }

    @Nested
    class Repeated {
        @Test
        void minAndMaxItems() {
            Descriptor type = new ProbeSchema().repeated("v", Type.TYPE_STRING, FieldRules.newBuilder()
                    .setRepeated(Validate.RepeatedRules.newBuilder().setMinItems(1).setMaxItems(2)).build()).build();
            assertEquals(List.of("v: 0 items < min_items 1"), violationsOf(type, "v", List.of()));
            assertEquals(List.of("v: 3 items > max_items 2"), violationsOf(type, "v", List.of("a", "b", "c")));
        }

        @Test
        void uniqueNamesTheRepeatedItem() {
            Descriptor type = new ProbeSchema().repeated("v", Type.TYPE_STRING, FieldRules.newBuilder()
                    .setRepeated(Validate.RepeatedRules.newBuilder().setUnique(true)).build()).build();
            assertEquals(List.of("v[2]: repeats an earlier item but the list must be unique"),
                    violationsOf(type, "v", List.of("a", "b", "a")));
        }

        @Test
        void itemRulesApplyToEachItem() {
            Descriptor type = new ProbeSchema().repeated("v", Type.TYPE_STRING, FieldRules.newBuilder()
                    .setRepeated(Validate.RepeatedRules.newBuilder().setItems(string(s -> s.setMinLen(1)))).build()).build();
            assertEquals(List.of("v[1]: length 0 < min_len 1"), violationsOf(type, "v", List.of("a", "", "b")));
        }

        @Test
        void repeatedMessagesAreValidatedWithTheirIndex() {
            Descriptor type = new ProbeSchema().repeatedMessage("children", "Child", null).build();
            assertEquals(List.of("children[1].name: length 0 < min_len 1"), violationsOf(type, "children",
                    List.of(ProbeSchema.child(type, "a").build(), ProbeSchema.child(type, "").build())));
        }

        @Test
        void ignoreEmptySkipsAnEmptyList() {
            Descriptor type = new ProbeSchema().repeated("v", Type.TYPE_STRING, FieldRules.newBuilder()
                    .setRepeated(Validate.RepeatedRules.newBuilder().setMinItems(2).setIgnoreEmpty(true)).build()).build();
            assertEquals(List.of(), violationsOf(type, "v", List.of()));
            assertEquals(List.of("v: 1 items < min_items 2"), violationsOf(type, "v", List.of("a")));
        }
    }

    @Nested
    class Maps {
        private DynamicMessage entry(Descriptor type, String field, String key, Object value) {
            Descriptor entryType = type.findFieldByName(field).getMessageType();
            return DynamicMessage.newBuilder(entryType)
                    .setField(entryType.findFieldByName("key"), key)
                    .setField(entryType.findFieldByName("value"), value).build();
        }

        @Test
        void minAndMaxPairs() {
            Descriptor type = new ProbeSchema().map("labels", Type.TYPE_STRING, FieldRules.newBuilder()
                    .setMap(Validate.MapRules.newBuilder().setMinPairs(1).setMaxPairs(1)).build()).build();
            assertEquals(List.of("labels: 0 pairs < min_pairs 1"), violationsOf(type, "labels", List.of()));
            assertEquals(List.of("labels: 2 pairs > max_pairs 1"), violationsOf(type, "labels",
                    List.of(entry(type, "labels", "a", "1"), entry(type, "labels", "b", "2"))));
        }

        @Test
        void keyAndValueRulesNameTheKey() {
            Descriptor type = new ProbeSchema().map("labels", Type.TYPE_STRING, FieldRules.newBuilder()
                    .setMap(Validate.MapRules.newBuilder()
                            .setKeys(string(s -> s.setWellKnownRegex(Validate.KnownRegex.HTTP_HEADER_NAME)))
                            .setValues(string(s -> s.setMinLen(1)))).build()).build();
            assertEquals(List.of("labels[\"bad key\"]: \"bad key\" is not a valid HTTP header name",
                            "labels[\"empty\"]: length 0 < min_len 1"),
                    violationsOf(type, "labels", List.of(entry(type, "labels", "bad key", "x"), entry(type, "labels", "empty", ""))));
        }

        @Test
        void messageValuesAreValidatedRecursively() {
            Descriptor type = new ProbeSchema().map("children", null, null).build();
            assertEquals(List.of("children[\"k\"].name: length 0 < min_len 1"),
                    violationsOf(type, "children", List.of(entry(type, "children", "k", ProbeSchema.child(type, "").build()))));
        }
    }

    @Nested
    class Anys {
        @Test
        void requiredAndInRules() {
            Descriptor type = new ProbeSchema().message("config", ".google.protobuf.Any", FieldRules.newBuilder()
                    .setAny(Validate.AnyRules.newBuilder().setRequired(true)
                            .addIn("type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy")).build()).build();
            assertEquals(List.of("config: value is required"), violationsOf(type, "config", null));
            Any wrongType = Any.pack(UInt32Value.of(1));
            assertEquals(List.of("config: type URL \"type.googleapis.com/google.protobuf.UInt32Value\" not in "
                    + "[type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy]"), violationsOf(type, "config", wrongType));
        }

        @Test
        void typedConfigsAreUnpackedAndValidated() {
            Descriptor type = new ProbeSchema().message("config", ".google.protobuf.Any", null).build();
            Any emptyPrefix = Any.pack(TcpProxy.newBuilder().setCluster("app").build());
            assertEquals(List.of("config.stat_prefix: length 0 < min_len 1"), violationsOf(type, "config", emptyPrefix));
        }

        @Test
        void unknownTypeUrlIsAViolation() {
            Descriptor type = new ProbeSchema().message("config", ".google.protobuf.Any", null).build();
            Any unknown = Any.newBuilder().setTypeUrl("type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxyy").build();
            List<String> violations = violationsOf(type, "config", unknown);
            assertEquals(1, violations.size());
            assertTrue(violations.getFirst().startsWith("config: unknown type URL \"type.googleapis.com/"
                    + "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxyy\""), violations.getFirst());
        }

        @Test
        void undecodableBytesAreAViolation() {
            Descriptor type = new ProbeSchema().message("config", ".google.protobuf.Any", null).build();
            Any garbage = Any.newBuilder().setTypeUrl("type.googleapis.com/" + TcpProxy.getDescriptor().getFullName())
                    .setValue(ByteString.copyFrom(new byte[] {(byte) 0xff, (byte) 0xff})).build();
            List<String> violations = violationsOf(type, "config", garbage);
            assertEquals(1, violations.size());
            assertTrue(violations.getFirst().startsWith("config: typed config bytes are not a valid"), violations.getFirst());
        }
    }

    @Nested
    class Durations {
        @Test
        void requiredAndBounds() {
            Descriptor type = new ProbeSchema().message("timeout", ".google.protobuf.Duration", FieldRules.newBuilder()
                    .setDuration(Validate.DurationRules.newBuilder().setRequired(true)
                            .setGt(Duration.getDefaultInstance())
                            .setLte(Duration.newBuilder().setSeconds(60))).build()).build();
            assertEquals(List.of("timeout: value is required"), violationsOf(type, "timeout", null));
            assertEquals(List.of("timeout: duration 0s is outside (0s, 60s] (gt, lte)"),
                    violationsOf(type, "timeout", Duration.getDefaultInstance()));
            assertEquals(List.of("timeout: duration 61s is outside (0s, 60s] (gt, lte)"),
                    violationsOf(type, "timeout", Duration.newBuilder().setSeconds(61).build()));
            assertEquals(List.of(), violationsOf(type, "timeout", Duration.newBuilder().setNanos(500_000_000).build()));
        }

        @Test
        void gteAlone() {
            Descriptor type = new ProbeSchema().message("interval", ".google.protobuf.Duration", FieldRules.newBuilder()
                    .setDuration(Validate.DurationRules.newBuilder().setGte(Duration.newBuilder().setNanos(1_000_000))).build()).build();
            assertEquals(List.of("interval: duration 0s < gte 0.001s"), violationsOf(type, "interval", Duration.getDefaultInstance()));
        }
    }

    @Test
    void timestampBoundsAndNow() {
        Descriptor type = new ProbeSchema().message("at", ".google.protobuf.Timestamp", FieldRules.newBuilder()
                .setTimestamp(Validate.TimestampRules.newBuilder().setRequired(true).setLtNow(true)
                        .setGt(Timestamp.newBuilder().setSeconds(1_000_000_000))).build()).build();
        assertEquals(List.of("at: value is required"), violationsOf(type, "at", null));
        assertEquals(List.of("at: timestamp 2001-09-09T01:46:39Z <= gt 2001-09-09T01:46:40Z"),
                violationsOf(type, "at", Timestamp.newBuilder().setSeconds(999_999_999).build()));
        List<String> future = violationsOf(type, "at", Timestamp.newBuilder().setSeconds(4_000_000_000L).build());
        assertEquals(1, future.size());
        assertTrue(future.getFirst().endsWith("is not before now (lt_now)"), future.getFirst());
        assertEquals(List.of(), violationsOf(type, "at", Timestamp.newBuilder().setSeconds(1_600_000_000).build()));
    }
}
