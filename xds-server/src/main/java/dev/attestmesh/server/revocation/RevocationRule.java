package dev.attestmesh.server.revocation;

import dev.attestmesh.identity.Registration;
import dev.attestmesh.input.UntrustedText;
import dev.attestmesh.quote.PlatformId;
import dev.attestmesh.quote.TcbStatus;
import java.time.Instant;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * One revocation rule. Its value is normalised on construction (measurements lower-case hex, TCB
 * statuses in Intel's spelling), so matching is a plain comparison.
 *
 * @param id random identifier, used to lift the rule
 * @param kind what the rule matches on
 * @param value node id, measurement hex, policy id, TCB status or advisory ID
 * @param reason why the operator revoked, shown in denials and refusals
 * @param createdBy name of the admin token that created the rule
 * @param createdAt creation time
 */
public record RevocationRule(String id, RevocationKind kind, String value, String reason, String createdBy,
        Instant createdAt) {
    private static final Pattern NODE_OR_POLICY_ID = Pattern.compile("[A-Za-z0-9._-]{1,128}");
    private static final Pattern HEX = Pattern.compile("([0-9a-f]{2}){1,128}");
    private static final Pattern ADVISORY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

    public RevocationRule {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(kind, "kind");
        value = normalise(kind, Objects.requireNonNull(value, "value"));
        Objects.requireNonNull(reason, "reason");
        if (reason.length() > 1024) {
            throw new IllegalArgumentException("reason is " + reason.length() + " characters; keep it under 1024");
        }
        Objects.requireNonNull(createdBy, "createdBy");
        Objects.requireNonNull(createdAt, "createdAt");
    }

    /**
     * Checks and normalises a rule value for its kind.
     *
     * @throws IllegalArgumentException saying what a valid value looks like
     */
    public static String normalise(RevocationKind kind, String value) {
        String v = value.trim();
        return switch (kind) {
            case PLATFORM -> {
                try {
                    yield PlatformId.parse(v.toLowerCase(Locale.ROOT)).toString();
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("platform '" + printable(v) + "' is not a platform id; use "
                            + "sgx-ppid:<32 hex>, snp-chip:<128 hex> or sim:<32 hex> (shown by attestmesh nodes)", e);
                }
            }
            case REGISTRATION -> {
                if (!Registration.ID.matcher(v).matches()) {
                    throw new IllegalArgumentException("registration '" + printable(v) + "' must match "
                            + Registration.ID.pattern() + " (1-63 characters)");
                }
                yield v;
            }
            case NODE, POLICY -> {
                if (!NODE_OR_POLICY_ID.matcher(v).matches()) {
                    throw new IllegalArgumentException(kind.wireName() + " '" + printable(v)
                            + "' must be 1-128 characters of [A-Za-z0-9._-]");
                }
                yield v;
            }
            case MEASUREMENT -> {
                String hex = v.toLowerCase(Locale.ROOT);
                if (!HEX.matcher(hex).matches()) {
                    throw new IllegalArgumentException("measurement '" + printable(v)
                            + "' must be an even number (2-256) of hex digits, e.g. the 96 of an MRTD");
                }
                yield hex;
            }
            case TCB_STATUS -> {
                try {
                    yield TcbStatus.fromIntelName(v).intelName();
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("tcb-status '" + printable(v) + "' is not a TCB status; use one of "
                            + Arrays.stream(TcbStatus.values()).map(TcbStatus::intelName).collect(Collectors.joining(", ")), e);
                }
            }
            case ADVISORY -> {
                if (!ADVISORY.matcher(v).matches()) {
                    throw new IllegalArgumentException("advisory '" + printable(v)
                            + "' must look like INTEL-SA-00837 (letters, digits, '.', '_', '-'; at most 64)");
                }
                yield v.toUpperCase(Locale.ROOT);
            }
        };
    }

    /** Whether this rule revokes {@code s}. */
    public boolean matches(RevocationSubject s) {
        return switch (kind) {
            case NODE -> s.nodeId().equals(value);
            case MEASUREMENT -> s.measurement().equals(value);
            case POLICY -> s.policyIds().contains(value);
            case TCB_STATUS -> s.tcbStatus().equalsIgnoreCase(value);
            case ADVISORY -> s.advisoryIds().stream().anyMatch(a -> a.equalsIgnoreCase(value));
            case REGISTRATION -> s.registration().equals(value);
            case PLATFORM -> s.platformId().filter(value::equals).isPresent();
        };
    }

    /** e.g. {@code revocation rule 6f0c... (measurement = ab12...): compromised build}. */
    public String describe() {
        String shown = value.length() > 24 ? value.substring(0, 24) + "..." : value;
        return "revocation rule " + id + " (" + kind.wireName() + " = " + shown + ")"
                + (reason.isBlank() ? "" : ": " + reason);
    }

    private static String printable(String s) {
        return UntrustedText.forLog(s, 64);
    }
}
