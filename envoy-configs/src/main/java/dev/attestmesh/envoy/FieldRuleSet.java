package dev.attestmesh.envoy;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Duration;
import com.google.protobuf.Message;
import com.google.protobuf.Timestamp;
import com.google.protobuf.util.Durations;
import com.google.protobuf.util.Timestamps;
import io.envoyproxy.pgv.validate.Validate;
import io.envoyproxy.pgv.validate.Validate.FieldRules;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import java.util.stream.Collectors;

/**
 * One field's {@code (validate.rules)} compiled once: regular expressions built, numeric bounds normalised,
 * nested item/key/value rules compiled. Checks append violations to a list; nothing is thrown for bad data.
 * The semantics follow protoc-gen-validate (range inversion, {@code ignore_empty}, code-point lengths).
 */
final class FieldRuleSet {

    /** No rules at all: only presence-driven recursion happens. */
    static final FieldRuleSet NONE = new FieldRuleSet(FieldRules.getDefaultInstance(), "");

    private static final Set<String> WRAPPERS = Set.of(
            "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
            "google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
            "google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue");

    final FieldRules rules;
    private final boolean empty;
    final boolean required;
    final boolean skip;
    private final Pattern pattern;
    private final NumericBounds numeric;
    final FieldRuleSet items;
    final FieldRuleSet keys;
    final FieldRuleSet values;

    FieldRuleSet(FieldRules rules, String where) {
        this.rules = rules;
        this.empty = rules.equals(FieldRules.getDefaultInstance());
        this.required = rules.getMessage().getRequired()
                || (rules.hasAny() && rules.getAny().getRequired())
                || (rules.hasDuration() && rules.getDuration().getRequired())
                || (rules.hasTimestamp() && rules.getTimestamp().getRequired());
        this.skip = rules.getMessage().getSkip();
        String regex = rules.hasString() && rules.getString().hasPattern() ? rules.getString().getPattern()
                : rules.hasBytes() && rules.getBytes().hasPattern() ? rules.getBytes().getPattern() : null;
        try {
            this.pattern = regex == null ? null : Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new IllegalStateException("the schema's pattern for " + where + " is not a usable regex: " + regex, e);
        }
        this.numeric = NumericBounds.of(rules);
        // NONE itself is built while NONE is still null: it is its own (empty) item/key/value rule set
        FieldRuleSet none = NONE == null ? this : NONE;
        this.items = rules.getRepeated().hasItems() ? new FieldRuleSet(rules.getRepeated().getItems(), where + "[]") : none;
        this.keys = rules.getMap().hasKeys() ? new FieldRuleSet(rules.getMap().getKeys(), where + "<key>") : none;
        this.values = rules.getMap().hasValues() ? new FieldRuleSet(rules.getMap().getValues(), where + "<value>") : none;
    }

    boolean isEmpty() {
        return empty;
    }

    // ---- repeated and map sizes -------------------------------------------------------------------

    /** Size and uniqueness rules of a repeated field; returns false when ignore_empty stops item checks. */
    boolean checkRepeated(List<?> elements, FieldPath path, List<Violation> out) {
        if (!rules.hasRepeated()) {
            return true;
        }
        Validate.RepeatedRules repeated = rules.getRepeated();
        int count = elements.size();
        if (count == 0 && repeated.getIgnoreEmpty()) {
            return false;
        }
        if (repeated.hasMinItems() && count < repeated.getMinItems()) {
            out.add(new Violation(path.toString(), count + " items < min_items " + repeated.getMinItems()));
        }
        if (repeated.hasMaxItems() && count > repeated.getMaxItems()) {
            out.add(new Violation(path.toString(), count + " items > max_items " + repeated.getMaxItems()));
        }
        if (repeated.getUnique()) {
            Set<Object> seen = new java.util.HashSet<>();
            for (int i = 0; i < count; i++) {
                if (!seen.add(uniquenessKey(elements.get(i)))) {
                    out.add(new Violation(path.index(i).toString(),
                            "repeats an earlier item but the list must be unique"));
                }
            }
        }
        return true;
    }

    private static Object uniquenessKey(Object element) {
        return element instanceof EnumValueDescriptor value ? value.getNumber() : element;
    }

    /** Size rules of a map field; returns false when ignore_empty stops key/value checks. */
    boolean checkMap(int pairs, FieldPath path, List<Violation> out) {
        if (!rules.hasMap()) {
            return true;
        }
        Validate.MapRules map = rules.getMap();
        if (pairs == 0 && map.getIgnoreEmpty()) {
            return false;
        }
        if (map.hasMinPairs() && pairs < map.getMinPairs()) {
            out.add(new Violation(path.toString(), pairs + " pairs < min_pairs " + map.getMinPairs()));
        }
        if (map.hasMaxPairs() && pairs > map.getMaxPairs()) {
            out.add(new Violation(path.toString(), pairs + " pairs > max_pairs " + map.getMaxPairs()));
        }
        return true;
    }

    // ---- message-typed values -------------------------------------------------------------------

    /**
     * Type rules on a present message value: {@code any}, {@code duration}, {@code timestamp}, and scalar
     * rules on a wrapper type ({@code google.protobuf.UInt32Value} with {@code uint32} rules, and so on).
     */
    void checkMessage(Message value, FieldPath path, List<Violation> out, boolean sensitive) {
        switch (rules.getTypeCase()) {
            case ANY -> checkAny(value, path, out);
            case DURATION -> checkDuration(value, path, out);
            case TIMESTAMP -> checkTimestamp(value, path, out);
            case TYPE_NOT_SET, REPEATED, MAP -> {
                // nothing type-specific
            }
            default -> {
                String type = value.getDescriptorForType().getFullName();
                if (WRAPPERS.contains(type)) {
                    FieldDescriptor wrapped = value.getDescriptorForType().findFieldByNumber(1);
                    checkScalar(value.getField(wrapped), path, out, sensitive);
                }
            }
        }
    }

    private void checkAny(Message any, FieldPath path, List<Violation> out) {
        Validate.AnyRules anyRules = rules.getAny();
        String typeUrl = (String) any.getField(any.getDescriptorForType().findFieldByNumber(1));
        if (anyRules.getInCount() > 0 && !anyRules.getInList().contains(typeUrl)) {
            out.add(new Violation(path.toString(), "type URL \"" + typeUrl + "\" not in " + anyRules.getInList()));
        }
        if (anyRules.getNotInList().contains(typeUrl)) {
            out.add(new Violation(path.toString(), "type URL \"" + typeUrl + "\" is in not_in " + anyRules.getNotInList()));
        }
    }

    private void checkDuration(Message message, FieldPath path, List<Violation> out) {
        Validate.DurationRules d = rules.getDuration();
        Duration value = toDuration(message);
        String shown = Durations.toString(value);
        if (d.hasConst() && Durations.compare(value, d.getConst()) != 0) {
            out.add(new Violation(path.toString(), "duration " + shown + " != const " + Durations.toString(d.getConst())));
        }
        Integer lowerVsUpper = null;
        Duration lower = d.hasGt() ? d.getGt() : d.hasGte() ? d.getGte() : null;
        Duration upper = d.hasLt() ? d.getLt() : d.hasLte() ? d.getLte() : null;
        if (lower != null && upper != null) {
            lowerVsUpper = Durations.compare(upper, lower);
        }
        String problem = rangeProblem(
                lower == null ? null : Durations.compare(value, lower), d.hasGt(), lower == null ? "" : Durations.toString(lower),
                upper == null ? null : Durations.compare(value, upper), d.hasLt(), upper == null ? "" : Durations.toString(upper),
                lowerVsUpper, "duration " + shown);
        if (problem != null) {
            out.add(new Violation(path.toString(), problem));
        }
        if (d.getInCount() > 0 && d.getInList().stream().noneMatch(v -> Durations.compare(v, value) == 0)) {
            out.add(new Violation(path.toString(), "duration " + shown + " not in " + showDurations(d.getInList())));
        }
        if (d.getNotInList().stream().anyMatch(v -> Durations.compare(v, value) == 0)) {
            out.add(new Violation(path.toString(), "duration " + shown + " is in not_in " + showDurations(d.getNotInList())));
        }
    }

    private static String showDurations(List<Duration> durations) {
        return durations.stream().map(Durations::toString).collect(Collectors.joining(", ", "[", "]"));
    }

    private void checkTimestamp(Message message, FieldPath path, List<Violation> out) {
        Validate.TimestampRules t = rules.getTimestamp();
        Timestamp value = toTimestamp(message);
        String shown = Timestamps.toString(value);
        if (t.hasConst() && Timestamps.compare(value, t.getConst()) != 0) {
            out.add(new Violation(path.toString(), "timestamp " + shown + " != const " + Timestamps.toString(t.getConst())));
        }
        Timestamp lower = t.hasGt() ? t.getGt() : t.hasGte() ? t.getGte() : null;
        Timestamp upper = t.hasLt() ? t.getLt() : t.hasLte() ? t.getLte() : null;
        String problem = rangeProblem(
                lower == null ? null : Timestamps.compare(value, lower), t.hasGt(), lower == null ? "" : Timestamps.toString(lower),
                upper == null ? null : Timestamps.compare(value, upper), t.hasLt(), upper == null ? "" : Timestamps.toString(upper),
                lower != null && upper != null ? Timestamps.compare(upper, lower) : null, "timestamp " + shown);
        if (problem != null) {
            out.add(new Violation(path.toString(), problem));
        }
        Instant now = Instant.now();
        Timestamp nowTs = Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()).build();
        if (t.getLtNow() && Timestamps.compare(value, nowTs) >= 0) {
            out.add(new Violation(path.toString(), "timestamp " + shown + " is not before now (lt_now)"));
        }
        if (t.getGtNow() && Timestamps.compare(value, nowTs) <= 0) {
            out.add(new Violation(path.toString(), "timestamp " + shown + " is not after now (gt_now)"));
        }
        if (t.hasWithin()) {
            Duration distance = Timestamps.compare(value, nowTs) <= 0
                    ? Timestamps.between(value, nowTs) : Timestamps.between(nowTs, value);
            if (Durations.compare(distance, t.getWithin()) > 0) {
                out.add(new Violation(path.toString(), "timestamp " + shown + " is not within "
                        + Durations.toString(t.getWithin()) + " of now"));
            }
        }
    }

    private static Duration toDuration(Message message) {
        if (message instanceof Duration duration) {
            return duration;
        }
        var type = message.getDescriptorForType();
        return Duration.newBuilder()
                .setSeconds((Long) message.getField(type.findFieldByNumber(1)))
                .setNanos((Integer) message.getField(type.findFieldByNumber(2)))
                .build();
    }

    private static Timestamp toTimestamp(Message message) {
        if (message instanceof Timestamp timestamp) {
            return timestamp;
        }
        var type = message.getDescriptorForType();
        return Timestamp.newBuilder()
                .setSeconds((Long) message.getField(type.findFieldByNumber(1)))
                .setNanos((Integer) message.getField(type.findFieldByNumber(2)))
                .build();
    }

    // ---- scalars ------------------------------------------------------------------------------------

    /**
     * Checks a present scalar (or a wrapper's inner value) against the field's scalar rules.
     *
     * @param sensitive the value sits under a {@code (udpa.annotations.sensitive)} field (keys, passwords):
     *     violations then describe it without quoting it
     */
    void checkScalar(Object value, FieldPath path, List<Violation> out, boolean sensitive) {
        switch (rules.getTypeCase()) {
            case STRING -> checkString((String) value, path, out, sensitive);
            case BYTES -> checkBytes((ByteString) value, path, out);
            case BOOL -> {
                if (rules.getBool().hasConst() && rules.getBool().getConst() != (Boolean) value) {
                    out.add(new Violation(path.toString(), "value " + value + " != const " + rules.getBool().getConst()));
                }
            }
            case ENUM -> checkEnum((EnumValueDescriptor) value, path, out);
            default -> {
                if (numeric != null) {
                    numeric.check((Number) value, path, out);
                }
            }
        }
    }

    private void checkEnum(EnumValueDescriptor value, FieldPath path, List<Violation> out) {
        Validate.EnumRules e = rules.getEnum();
        int number = value.getNumber();
        if (e.getDefinedOnly() && value.getType().findValueByNumber(number) == null) {
            out.add(new Violation(path.toString(), "enum value " + number + " is not defined in "
                    + value.getType().getFullName() + " (defined_only)"));
        }
        if (e.hasConst() && e.getConst() != number) {
            out.add(new Violation(path.toString(), "enum value " + number + " != const " + e.getConst()));
        }
        if (e.getInCount() > 0 && !e.getInList().contains(number)) {
            out.add(new Violation(path.toString(), "enum value " + number + " not in " + e.getInList()));
        }
        if (e.getNotInList().contains(number)) {
            out.add(new Violation(path.toString(), "enum value " + number + " is in not_in " + e.getNotInList()));
        }
    }

    private void checkString(String value, FieldPath path, List<Violation> out, boolean sensitive) {
        Validate.StringRules s = rules.getString();
        if (value.isEmpty() && s.getIgnoreEmpty()) {
            return;
        }
        String where = path.toString();
        String shown = sensitive ? "the sensitive value" : quote(value);
        if (s.hasConst() && !s.getConst().equals(value)) {
            out.add(new Violation(where, shown + " != const " + quote(s.getConst())));
        }
        if (s.hasLen() || s.hasMinLen() || s.hasMaxLen()) {
            long length = value.codePointCount(0, value.length());
            if (s.hasLen() && length != s.getLen()) {
                out.add(new Violation(where, "length " + length + " != len " + s.getLen()));
            }
            if (s.hasMinLen() && length < s.getMinLen()) {
                out.add(new Violation(where, "length " + length + " < min_len " + s.getMinLen()));
            }
            if (s.hasMaxLen() && length > s.getMaxLen()) {
                out.add(new Violation(where, "length " + length + " > max_len " + s.getMaxLen()));
            }
        }
        if (s.hasLenBytes() || s.hasMinBytes() || s.hasMaxBytes()) {
            long bytes = utf8Length(value);
            if (s.hasLenBytes() && bytes != s.getLenBytes()) {
                out.add(new Violation(where, bytes + " bytes != len_bytes " + s.getLenBytes()));
            }
            if (s.hasMinBytes() && bytes < s.getMinBytes()) {
                out.add(new Violation(where, bytes + " bytes < min_bytes " + s.getMinBytes()));
            }
            if (s.hasMaxBytes() && bytes > s.getMaxBytes()) {
                out.add(new Violation(where, bytes + " bytes > max_bytes " + s.getMaxBytes()));
            }
        }
        if (pattern != null && !pattern.matcher(value).find()) {
            out.add(new Violation(where, shown + " does not match pattern " + quote(pattern.pattern())));
        }
        if (s.hasPrefix() && !value.startsWith(s.getPrefix())) {
            out.add(new Violation(where, shown + " does not start with prefix " + quote(s.getPrefix())));
        }
        if (s.hasSuffix() && !value.endsWith(s.getSuffix())) {
            out.add(new Violation(where, shown + " does not end with suffix " + quote(s.getSuffix())));
        }
        if (s.hasContains() && !value.contains(s.getContains())) {
            out.add(new Violation(where, shown + " does not contain " + quote(s.getContains())));
        }
        if (s.hasNotContains() && value.contains(s.getNotContains())) {
            out.add(new Violation(where, shown + " contains forbidden " + quote(s.getNotContains())));
        }
        if (s.getInCount() > 0 && !s.getInList().contains(value)) {
            out.add(new Violation(where, shown + " not in " + s.getInList()));
        }
        if (s.getNotInList().contains(value)) {
            out.add(new Violation(where, shown + " is in not_in " + s.getNotInList()));
        }
        String format = switch (s.getWellKnownCase()) {
            case EMAIL -> s.getEmail() && !WellKnownFormats.isEmail(value) ? "an email address" : null;
            case HOSTNAME -> s.getHostname() && !WellKnownFormats.isHostname(value) ? "a hostname" : null;
            case IP -> s.getIp() && !WellKnownFormats.isIp(value) ? "an IP address" : null;
            case IPV4 -> s.getIpv4() && !WellKnownFormats.isIpv4(value) ? "an IPv4 address" : null;
            case IPV6 -> s.getIpv6() && !WellKnownFormats.isIpv6(value) ? "an IPv6 address" : null;
            case URI -> s.getUri() && !WellKnownFormats.isUri(value) ? "an absolute URI" : null;
            case URI_REF -> s.getUriRef() && !WellKnownFormats.isUriReference(value) ? "a URI reference" : null;
            case ADDRESS -> s.getAddress() && !WellKnownFormats.isAddress(value) ? "a hostname or IP address" : null;
            case UUID -> s.getUuid() && !WellKnownFormats.isUuid(value) ? "a UUID" : null;
            case WELL_KNOWN_REGEX -> headerProblem(s, value);
            case WELLKNOWN_NOT_SET -> null;
        };
        if (format != null) {
            out.add(new Violation(where, shown + " is not " + format));
        }
    }

    private static String headerProblem(Validate.StringRules s, String value) {
        boolean strict = s.getStrict(); // proto2 default is true
        return switch (s.getWellKnownRegex()) {
            case HTTP_HEADER_NAME -> !(strict ? WellKnownFormats.HTTP_HEADER_NAME : WellKnownFormats.HEADER_STRING)
                    .matcher(value).matches() ? "a valid HTTP header name" + (strict ? "" : " (non-strict)") : null;
            case HTTP_HEADER_VALUE -> !(strict ? WellKnownFormats.HTTP_HEADER_VALUE : WellKnownFormats.HEADER_STRING)
                    .matcher(value).matches() ? "a valid HTTP header value" + (strict ? "" : " (non-strict)") : null;
            case UNKNOWN -> null;
        };
    }

    private void checkBytes(ByteString value, FieldPath path, List<Violation> out) {
        Validate.BytesRules b = rules.getBytes();
        if (value.isEmpty() && b.getIgnoreEmpty()) {
            return;
        }
        String where = path.toString();
        int size = value.size();
        if (b.hasConst() && !b.getConst().equals(value)) {
            out.add(new Violation(where, size + " bytes differ from const"));
        }
        if (b.hasLen() && size != b.getLen()) {
            out.add(new Violation(where, "length " + size + " != len " + b.getLen()));
        }
        if (b.hasMinLen() && size < b.getMinLen()) {
            out.add(new Violation(where, "length " + size + " < min_len " + b.getMinLen()));
        }
        if (b.hasMaxLen() && size > b.getMaxLen()) {
            out.add(new Violation(where, "length " + size + " > max_len " + b.getMaxLen()));
        }
        if (pattern != null && !pattern.matcher(value.toString(StandardCharsets.UTF_8)).find()) {
            out.add(new Violation(where, "bytes do not match pattern " + quote(pattern.pattern())));
        }
        if (b.hasPrefix() && !value.startsWith(b.getPrefix())) {
            out.add(new Violation(where, "bytes do not start with the required prefix"));
        }
        if (b.hasSuffix() && !value.endsWith(b.getSuffix())) {
            out.add(new Violation(where, "bytes do not end with the required suffix"));
        }
        if (b.hasContains() && value.toString(StandardCharsets.ISO_8859_1)
                .indexOf(b.getContains().toString(StandardCharsets.ISO_8859_1)) < 0) {
            out.add(new Violation(where, "bytes do not contain the required sequence"));
        }
        if (b.getInCount() > 0 && !b.getInList().contains(value)) {
            out.add(new Violation(where, "bytes are not one of the " + b.getInCount() + " allowed values"));
        }
        if (b.getNotInList().contains(value)) {
            out.add(new Violation(where, "bytes are one of the values in not_in"));
        }
        switch (b.getWellKnownCase()) {
            case IP -> {
                if (b.getIp() && size != 4 && size != 16) {
                    out.add(new Violation(where, size + " bytes is not an IP address (4 or 16 bytes)"));
                }
            }
            case IPV4 -> {
                if (b.getIpv4() && size != 4) {
                    out.add(new Violation(where, size + " bytes is not an IPv4 address (4 bytes)"));
                }
            }
            case IPV6 -> {
                if (b.getIpv6() && size != 16) {
                    out.add(new Violation(where, size + " bytes is not an IPv6 address (16 bytes)"));
                }
            }
            case WELLKNOWN_NOT_SET -> {
                // no format required
            }
        }
    }

    private static long utf8Length(String text) {
        long bytes = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x80) {
                bytes += 1;
            } else if (c < 0x800) {
                bytes += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else {
                bytes += 3;
            }
        }
        return bytes;
    }

    private static String quote(String text) {
        String shown = text.length() > 80 ? text.substring(0, 77) + "..." : text;
        StringBuilder quoted = new StringBuilder("\"");
        for (int i = 0; i < shown.length(); i++) {
            char c = shown.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                quoted.append(String.format("\\x%02x", (int) c));
            } else {
                quoted.append(c);
            }
        }
        return quoted.append('"').toString();
    }

    /**
     * protoc-gen-validate's range rule. Comparisons are "value vs bound" (negative = value is smaller);
     * when both bounds exist and upper <= lower the rule is an exclusive range (value must lie outside).
     * Returns the problem, or null when the value satisfies it.
     */
    static String rangeProblem(Integer vsLower, boolean lowerExclusive, String lowerShown,
                               Integer vsUpper, boolean upperExclusive, String upperShown,
                               Integer upperVsLower, String valueShown) {
        boolean aboveLower = vsLower == null || (lowerExclusive ? vsLower > 0 : vsLower >= 0);
        boolean belowUpper = vsUpper == null || (upperExclusive ? vsUpper < 0 : vsUpper <= 0);
        String lowerOp = lowerExclusive ? "gt" : "gte";
        String upperOp = upperExclusive ? "lt" : "lte";
        if (vsLower != null && vsUpper != null) {
            if (upperVsLower > 0) {
                return aboveLower && belowUpper ? null : valueShown + " is outside " + (lowerExclusive ? "(" : "[")
                        + lowerShown + ", " + upperShown + (upperExclusive ? ")" : "]") + " (" + lowerOp + ", " + upperOp + ")";
            }
            return aboveLower || belowUpper ? null : valueShown + " must lie outside " + (upperExclusive ? "[" : "(")
                    + upperShown + ", " + lowerShown + (lowerExclusive ? "]" : ")") + " (" + upperOp + ", " + lowerOp + ")";
        }
        if (!aboveLower) {
            return valueShown + (lowerExclusive ? " <= " : " < ") + lowerOp + " " + lowerShown;
        }
        if (!belowUpper) {
            return valueShown + (upperExclusive ? " >= " : " > ") + upperOp + " " + upperShown;
        }
        return null;
    }

    /** Bounds of one of the twelve numeric rule messages, normalised to long (with sign mode) or double. */
    private static final class NumericBounds {
        private final boolean floating;
        private final boolean unsigned64;
        private final boolean unsigned32;
        private final Number constant;
        private final Number lower;
        private final boolean lowerExclusive;
        private final Number upper;
        private final boolean upperExclusive;
        private final List<Number> in;
        private final List<Number> notIn;
        private final boolean ignoreEmpty;

        private NumericBounds(FieldRules.TypeCase kind, Message r) {
            floating = kind == FieldRules.TypeCase.FLOAT || kind == FieldRules.TypeCase.DOUBLE;
            unsigned64 = kind == FieldRules.TypeCase.UINT64 || kind == FieldRules.TypeCase.FIXED64;
            unsigned32 = kind == FieldRules.TypeCase.UINT32 || kind == FieldRules.TypeCase.FIXED32;
            var type = r.getDescriptorForType();
            constant = optional(r, type.findFieldByName("const"));
            Number gt = optional(r, type.findFieldByName("gt"));
            Number gte = optional(r, type.findFieldByName("gte"));
            Number lt = optional(r, type.findFieldByName("lt"));
            Number lte = optional(r, type.findFieldByName("lte"));
            lower = gt != null ? gt : gte;
            lowerExclusive = gt != null;
            upper = lt != null ? lt : lte;
            upperExclusive = lt != null;
            in = list(r, type.findFieldByName("in"));
            notIn = list(r, type.findFieldByName("not_in"));
            FieldDescriptor ignore = type.findFieldByName("ignore_empty");
            ignoreEmpty = ignore != null && (Boolean) r.getField(ignore);
        }

        static NumericBounds of(FieldRules rules) {
            FieldRules.TypeCase kind = rules.getTypeCase();
            if (kind.getNumber() < 1 || kind.getNumber() > 12) {
                return null;
            }
            Message numericRules = (Message) rules.getField(FieldRules.getDescriptor().findFieldByNumber(kind.getNumber()));
            return new NumericBounds(kind, numericRules);
        }

        private Number normalise(Number raw) {
            if (floating) {
                return raw.doubleValue();
            }
            if (unsigned32) {
                return Integer.toUnsignedLong(raw.intValue());
            }
            return raw.longValue();
        }

        private Number optional(Message r, FieldDescriptor field) {
            return r.hasField(field) ? normalise((Number) r.getField(field)) : null;
        }

        private List<Number> list(Message r, FieldDescriptor field) {
            List<Number> values = new ArrayList<>();
            for (int i = 0; i < r.getRepeatedFieldCount(field); i++) {
                values.add(normalise((Number) r.getRepeatedField(field, i)));
            }
            return values;
        }

        private int compare(Number a, Number b) {
            if (floating) {
                return Double.compare(a.doubleValue(), b.doubleValue());
            }
            return unsigned64 ? Long.compareUnsigned(a.longValue(), b.longValue()) : Long.compare(a.longValue(), b.longValue());
        }

        private String show(Number n) {
            return unsigned64 ? Long.toUnsignedString(n.longValue()) : n.toString();
        }

        private boolean contains(List<Number> values, Number v) {
            for (Number candidate : values) {
                if (compare(candidate, v) == 0) {
                    return true;
                }
            }
            return false;
        }

        void check(Number raw, FieldPath path, List<Violation> out) {
            Number v = normalise(raw);
            if (ignoreEmpty && (floating ? v.doubleValue() == 0.0 : v.longValue() == 0L)) {
                return;
            }
            String shown = "value " + show(v);
            if (constant != null && compare(v, constant) != 0) {
                out.add(new Violation(path.toString(), shown + " != const " + show(constant)));
            }
            String problem = rangeProblem(
                    lower == null ? null : compare(v, lower), lowerExclusive, lower == null ? "" : show(lower),
                    upper == null ? null : compare(v, upper), upperExclusive, upper == null ? "" : show(upper),
                    lower != null && upper != null ? compare(upper, lower) : null, shown);
            if (problem != null) {
                out.add(new Violation(path.toString(), problem));
            }
            if (!in.isEmpty() && !contains(in, v)) {
                out.add(new Violation(path.toString(), shown + " not in " + in.stream().map(this::show).toList()));
            }
            if (contains(notIn, v)) {
                out.add(new Violation(path.toString(), shown + " is in not_in " + notIn.stream().map(this::show).toList()));
            }
        }
    }
}
