package dev.attestmesh.quote.tdx;

import dev.attestmesh.quote.EvidenceParseException;
import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerifiedEvidence;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Checks a TDX guest's CCEL event log against the RTMRs of its <b>verified</b> quote and adds what
 * the log proves to the claims: the log must replay to RTMR0..RTMR3 exactly (each mismatch names the
 * register), and then {@code kernel_cmdline_sha384} (SHA-384 of the command line GRUB measured, the
 * value the event extended) and {@code ccel.events} become claims a policy can pin.
 */
public final class CcelVerifier {
    private static final HexFormat HEX = HexFormat.of();

    private CcelVerifier() {
    }

    /**
     * @param verified TDX evidence whose quote verified (its {@code rtmr0..3} claims are the registers)
     * @param table the ACPI CCEL table, when the node sent it (checked for TDX and its log-area size)
     * @param log the event log data (the CCEL log area; unused space after the events is ignored)
     * @return {@code verified} with the event-log claims added
     */
    public static VerifiedEvidence withEventLog(VerifiedEvidence verified, Optional<byte[]> table, byte[] log)
            throws EvidenceVerificationException {
        if (verified.tee() != TeeType.TDX) {
            throw new EvidenceVerificationException(VerificationCheck.UNSUPPORTED, "a CCEL event log belongs to TDX"
                    + " evidence, not " + verified.tee().wireName());
        }
        CcEventLog parsed;
        try {
            if (table.isPresent()) {
                CcelTable t = CcelTable.parse(table.get());
                if (t.ccType() != CcelTable.CC_TYPE_TDX) {
                    throw new EvidenceVerificationException(VerificationCheck.EVENT_LOG, "the CCEL table's CC type is "
                            + t.ccType() + ", not TDX (2)");
                }
                if (log.length > t.logAreaMinimumLength()) {
                    throw new EvidenceVerificationException(VerificationCheck.EVENT_LOG, "the event log is " + log.length
                            + " bytes, larger than the CCEL table's log area (" + t.logAreaMinimumLength() + ")");
                }
            }
            parsed = CcEventLog.parse(log);
        } catch (EvidenceParseException e) {
            throw new EvidenceVerificationException(VerificationCheck.EVENT_LOG, e.getMessage(), e);
        }
        byte[][] replayed = parsed.replay();
        for (int i = 0; i < 4; i++) {
            String quoted = verified.measurements().get("rtmr" + i);
            if (quoted == null) {
                throw new EvidenceVerificationException(VerificationCheck.EVENT_LOG, "the verified quote has no RTMR" + i);
            }
            if (!quoted.equals(HEX.formatHex(replayed[i]))) {
                throw new EvidenceVerificationException(VerificationCheck.EVENT_LOG, "the event log does not replay to"
                        + " RTMR" + i + " of the quote (log gives " + HEX.formatHex(replayed[i], 0, 8) + "..., quote has "
                        + quoted.substring(0, 16) + "...); the log is incomplete or altered");
            }
        }
        Map<String, String> m = new LinkedHashMap<>(verified.measurements());
        parsed.kernelCommandLine().ifPresent(cmdline -> m.put("kernel_cmdline_sha384",
                HEX.formatHex(CcEventLog.sha384().digest(cmdline.getBytes(StandardCharsets.UTF_8)))));
        Map<String, Long> n = new LinkedHashMap<>(verified.numbers());
        n.put("ccel.events", (long) parsed.events().size());
        return verified.withClaims(m, n);
    }
}
