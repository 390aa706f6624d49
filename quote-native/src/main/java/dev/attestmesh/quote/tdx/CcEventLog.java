package dev.attestmesh.quote.tdx;

import dev.attestmesh.quote.EvidenceParseException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A parsed, <b>untrusted</b> Confidential Computing event log in the TCG PC Client crypto-agile
 * format (the log the ACPI CCEL table points to): a {@code TCG_PCR_EVENT} header carrying the {@code
 * Spec ID Event03} (which lists the digest algorithms and sizes), then {@code TCG_PCR_EVENT2} records
 * until the end of the data or an unused (all-ones or all-zero) record. In a TDX log the "PCR index"
 * is the CC measurement register: 0 MRTD, 1..4 RTMR0..RTMR3.
 *
 * <p>Bounded: at most {@link #MAX_LOG_BYTES} of log, {@link #MAX_EVENTS} events, {@link #MAX_EVENT_DATA}
 * bytes per event, 8 algorithms. Nothing here is trusted until {@link #replay()} matches RTMRs of a
 * verified quote.
 *
 * @param algorithms digest algorithm ID to digest size, from the Spec ID event
 * @param events the events after the header, in log order
 */
public record CcEventLog(Map<Integer, Integer> algorithms, List<Event> events) {
    public static final int MAX_LOG_BYTES = 8 << 20;
    public static final int MAX_EVENTS = 16384;
    public static final int MAX_EVENT_DATA = 1 << 20;
    /** TPM_ALG_SHA384: RTMRs are SHA-384 registers. */
    public static final int SHA384 = 0x000C;
    public static final long EV_NO_ACTION = 0x3;
    public static final long EV_IPL = 0xD;
    private static final String STRUCTURE = "CC event log";
    private static final Map<Integer, Integer> KNOWN_SIZES = Map.of(0x0004, 20, 0x000B, 32, SHA384, 48, 0x000D, 64,
            0x0012, 32);

    /**
     * One event.
     *
     * @param mrIndex the CC measurement register index (1..4 are RTMR0..3)
     * @param type the TCG event type
     * @param sha384 the event's SHA-384 digest, when the event has one
     * @param data the event data (untrusted unless it hashes to the digest)
     * @param offset byte offset of the event in the log
     */
    public record Event(long mrIndex, long type, Optional<byte[]> sha384, byte[] data, int offset) {
        public Event {
            sha384 = sha384.map(byte[]::clone);
            data = data.clone();
        }

        @Override
        public byte[] data() {
            return data.clone();
        }
    }

    public CcEventLog {
        algorithms = Map.copyOf(algorithms);
        events = List.copyOf(events);
    }

    public static CcEventLog parse(byte[] log) throws EvidenceParseException {
        if (log.length > MAX_LOG_BYTES) {
            throw new EvidenceParseException(STRUCTURE, -1, log.length + " bytes; at most " + MAX_LOG_BYTES);
        }
        ByteBuffer b = ByteBuffer.wrap(log).order(ByteOrder.LITTLE_ENDIAN);
        need(b, 32, "the TCG_PCR_EVENT header");
        b.getInt(); // PCR index of the header: not used
        long type = Integer.toUnsignedLong(b.getInt());
        if (type != EV_NO_ACTION) {
            throw new EvidenceParseException(STRUCTURE, 4, "the first event is of type " + type
                    + ", not EV_NO_ACTION (the Spec ID event)");
        }
        b.position(b.position() + 20); // SHA-1 sized digest, zero
        int specSize = size(b, 4096, "Spec ID event size");
        int specStart = b.position();
        need(b, specSize, "the Spec ID event");
        if (specSize < 29 || !new String(log, specStart, 16, StandardCharsets.US_ASCII).equals("Spec ID Event03\0")) {
            throw new EvidenceParseException(STRUCTURE, specStart, "not a crypto-agile log: the header event is not"
                    + " \"Spec ID Event03\"");
        }
        b.position(specStart + 24);
        long count = Integer.toUnsignedLong(b.getInt());
        if (count < 1 || count > 8 || 28 + 4 * count > specSize) {
            throw new EvidenceParseException(STRUCTURE, specStart + 24, "Spec ID event lists " + count + " algorithms");
        }
        Map<Integer, Integer> algs = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            int alg = Short.toUnsignedInt(b.getShort());
            int sz = Short.toUnsignedInt(b.getShort());
            Integer known = KNOWN_SIZES.get(alg);
            if ((known != null && known != sz) || sz == 0 || sz > 64) {
                throw new EvidenceParseException(STRUCTURE, b.position() - 4, String.format(
                        "algorithm 0x%04x with digest size %d", alg, sz));
            }
            algs.put(alg, sz);
        }
        if (!algs.containsKey(SHA384)) {
            throw new EvidenceParseException(STRUCTURE, specStart, "the log records no SHA-384 digests; RTMRs cannot be replayed");
        }
        b.position(specStart + specSize);
        List<Event> events = new ArrayList<>();
        while (b.remaining() >= 8) {
            int at = b.position();
            long mr = Integer.toUnsignedLong(b.getInt(at));
            long et = Integer.toUnsignedLong(b.getInt(at + 4));
            if (mr == 0xffffffffL || (mr == 0 && et == 0)) {
                break; // unused log area
            }
            if (events.size() >= MAX_EVENTS) {
                throw new EvidenceParseException(STRUCTURE, at, "more than " + MAX_EVENTS + " events");
            }
            b.position(at + 8);
            need(b, 4, "digest count");
            long digests = Integer.toUnsignedLong(b.getInt());
            if (digests != algs.size()) {
                throw new EvidenceParseException(STRUCTURE, at + 8, "event has " + digests + " digests; the Spec ID event"
                        + " declares " + algs.size() + " algorithms");
            }
            byte[] sha384 = null;
            for (int i = 0; i < digests; i++) {
                need(b, 2, "digest algorithm");
                int alg = Short.toUnsignedInt(b.getShort());
                Integer sz = algs.get(alg);
                if (sz == null) {
                    throw new EvidenceParseException(STRUCTURE, b.position() - 2, String.format(
                            "digest of algorithm 0x%04x, which the Spec ID event does not declare", alg));
                }
                need(b, sz, "digest");
                byte[] d = new byte[sz];
                b.get(d);
                if (alg == SHA384) {
                    sha384 = d;
                }
            }
            int dataSize = size(b, MAX_EVENT_DATA, "event data size");
            need(b, dataSize, "event data");
            byte[] data = new byte[dataSize];
            b.get(data);
            events.add(new Event(mr, et, Optional.ofNullable(sha384), data, at));
        }
        return new CcEventLog(algs, events);
    }

    /** RTMR0..RTMR3 as the log's events extend them from zero (EV_NO_ACTION events are not extended). */
    public byte[][] replay() {
        byte[][] rtmr = new byte[4][48];
        MessageDigest sha384 = sha384();
        for (Event e : events) {
            if (e.type() == EV_NO_ACTION || e.mrIndex() < 1 || e.mrIndex() > 4 || e.sha384().isEmpty()) {
                continue; // MR index 0 is MRTD, measured by the TDX module, not by events
            }
            int i = (int) e.mrIndex() - 1;
            sha384.update(rtmr[i]);
            sha384.update(e.sha384().get());
            rtmr[i] = sha384.digest();
        }
        return rtmr;
    }

    /**
     * The kernel command line GRUB measured ({@code EV_IPL} "kernel_cmdline: ..." events, whose digest is
     * the SHA-384 of the text after the prefix), the last one when several; only an event whose data
     * hashes to its digest counts, so the text is as trustworthy as the replay.
     */
    public Optional<String> kernelCommandLine() {
        String prefix = "kernel_cmdline: ";
        Optional<String> out = Optional.empty();
        for (Event e : events) {
            byte[] d = e.data();
            if (e.type() != EV_IPL || e.sha384().isEmpty() || d.length < prefix.length()
                    || !new String(d, 0, prefix.length(), StandardCharsets.US_ASCII).equals(prefix)) {
                continue;
            }
            int end = d.length;
            while (end > prefix.length() && d[end - 1] == 0) {
                end--;
            }
            byte[] text = Arrays.copyOfRange(d, prefix.length(), end);
            if (MessageDigest.isEqual(sha384().digest(text), e.sha384().get())) {
                out = Optional.of(new String(text, StandardCharsets.UTF_8));
            }
        }
        return out;
    }

    static MessageDigest sha384() {
        try {
            return MessageDigest.getInstance("SHA-384");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-384 is a mandatory JCA algorithm", e);
        }
    }

    private static void need(ByteBuffer b, int n, String what) throws EvidenceParseException {
        if (b.remaining() < n) {
            throw new EvidenceParseException(STRUCTURE, b.position(), "truncated: " + what + " needs " + n + " bytes, "
                    + b.remaining() + " left");
        }
    }

    private static int size(ByteBuffer b, int max, String what) throws EvidenceParseException {
        need(b, 4, what);
        int at = b.position();
        long v = Integer.toUnsignedLong(b.getInt());
        if (v > max) {
            throw new EvidenceParseException(STRUCTURE, at, what + " " + v + " exceeds " + max);
        }
        return (int) v;
    }
}
