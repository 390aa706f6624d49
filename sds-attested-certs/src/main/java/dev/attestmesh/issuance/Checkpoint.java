package dev.attestmesh.issuance;

import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A checkpoint (signed tree head) of the issuance log: the log named {@code origin} had {@code size}
 * entries, the last of which hashed to {@code headHashHex}, at {@code timestamp}, under the mesh CA whose
 * root certificate's SHA-256 is {@code caRootSha256Hex}. The signed bytes are exactly {@link #text()}:
 *
 * <pre>
 * &lt;origin&gt;                        e.g. example.org/attestmesh/issuance-log
 * &lt;size&gt;                          decimal, no leading zeros ("0" for an empty log)
 * &lt;head hash&gt;                     standard base64 (with padding) of the 32-byte hash of entry &lt;size&gt;
 * timestamp &lt;unix seconds&gt;        decimal, no leading zeros
 * ca-root-sha256 &lt;64 hex digits&gt;  lower-case SHA-256 of the root CA certificate's DER
 * </pre>
 *
 * each line ending in one newline (U+000A). This is the C2SP tlog-checkpoint layout (origin, size, hash)
 * with two extension lines, except that the hash is the head of the log's hash chain (see
 * {@link IssuanceLog}), not an RFC 6962 Merkle root; an empty log's head is 32 zero bytes. Signing wraps
 * the text in a C2SP signed note ({@link CheckpointNotes}).
 *
 * @param origin the log's identity: {@code <trust-domain>/attestmesh/issuance-log}; also the signing key's name
 * @param size number of entries covered (the sequence of the last one)
 * @param headHashHex {@link IssuanceLogEntry#hashHex} of entry {@code size}; 64 zeros when {@code size} is 0
 * @param timestamp when the checkpoint was signed, whole seconds
 * @param caRootSha256Hex lower-case hex SHA-256 of the mesh root certificate (DER)
 */
public record Checkpoint(String origin, long size, String headHashHex, Instant timestamp, String caRootSha256Hex) {
    /** Suffix of every AttestMesh issuance log origin, after the trust domain. */
    public static final String ORIGIN_SUFFIX = "/attestmesh/issuance-log";
    /** Longest origin accepted (a 255-character trust domain plus the suffix fits). */
    public static final int MAX_ORIGIN = 300;
    /** Origins and key names: printable ASCII without spaces or '+', as C2SP signed-note key names require. */
    static final Pattern ORIGIN = Pattern.compile("[!-*,-~]{1," + MAX_ORIGIN + "}");
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");

    public Checkpoint {
        Objects.requireNonNull(origin, "origin");
        Objects.requireNonNull(headHashHex, "headHashHex");
        Objects.requireNonNull(timestamp, "timestamp");
        Objects.requireNonNull(caRootSha256Hex, "caRootSha256Hex");
        if (!ORIGIN.matcher(origin).matches()) {
            throw new IllegalArgumentException("checkpoint origin must be 1-" + MAX_ORIGIN
                    + " printable ASCII characters without spaces or '+'");
        }
        if (size < 0) {
            throw new IllegalArgumentException("checkpoint size must not be negative: " + size);
        }
        if (!HEX64.matcher(headHashHex).matches()) {
            throw new IllegalArgumentException("checkpoint head hash must be 64 lower-case hex digits");
        }
        if (size == 0 && !headHashHex.equals(IssuanceLog.GENESIS_HASH)) {
            throw new IllegalArgumentException("the checkpoint of an empty log must have the all-zero head hash");
        }
        if (timestamp.getNano() != 0 || timestamp.getEpochSecond() < 0) {
            throw new IllegalArgumentException("checkpoint timestamp must be whole seconds after 1970: " + timestamp);
        }
        if (!HEX64.matcher(caRootSha256Hex).matches()) {
            throw new IllegalArgumentException("checkpoint CA root digest must be 64 lower-case hex digits");
        }
    }

    /** The origin of the issuance log of {@code trustDomain}. */
    public static String originFor(String trustDomain) {
        return trustDomain + ORIGIN_SUFFIX;
    }

    /** The head hash as the checkpoint's third line carries it: standard base64 of the 32 bytes. */
    public String headHashBase64() {
        return Base64.getEncoder().encodeToString(HexFormat.of().parseHex(headHashHex));
    }

    /** The canonical note text: exactly the bytes (UTF-8, here all ASCII) that the signature covers. */
    public String text() {
        return origin + "\n" + size + "\n" + headHashBase64() + "\ntimestamp " + timestamp.getEpochSecond()
                + "\nca-root-sha256 " + caRootSha256Hex + "\n";
    }
}
