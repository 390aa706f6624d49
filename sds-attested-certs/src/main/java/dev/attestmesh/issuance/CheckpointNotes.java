package dev.attestmesh.issuance;

import dev.attestmesh.ca.CheckpointKey;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Checkpoints as C2SP signed notes (c2sp.org/signed-note): the {@linkplain Checkpoint#text() checkpoint
 * text}, a blank line, then one signature line
 *
 * <pre>
 * — &lt;key name&gt; base64(key ID (4 bytes, big-endian) || Ed25519 signature (64 bytes))
 * </pre>
 *
 * (em dash U+2014, space, key name, space, standard base64, newline). The key name is the checkpoint's
 * origin; the key ID is {@code SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 public key)[:4]}
 * (signature type 0x01, Ed25519); the signature covers exactly the text's UTF-8 bytes, final newline
 * included. Parsing is strict: anything a conforming signer would not produce is refused.
 */
public final class CheckpointNotes {
    /** Largest note accepted: a checkpoint text is under 500 bytes, each signature line under 400. */
    public static final int MAX_NOTE_BYTES = 16 * 1024;
    /** Most signature lines accepted (C2SP asks verifiers to accept at least 16). */
    public static final int MAX_SIGNATURES = 16;
    static final byte ED25519 = 0x01;
    private static final String DASH = "\u2014 ";
    private static final Pattern DECIMAL = Pattern.compile("0|[1-9][0-9]{0,18}");
    private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");

    /** One signature line of a note. */
    record NoteSignature(String keyName, int keyId, byte[] signature) {}

    /** A note split into its checkpoint (the signed text, parsed) and its signature lines. */
    record ParsedNote(String text, Checkpoint checkpoint, List<NoteSignature> signatures) {}

    private CheckpointNotes() {}

    /** Signs {@code checkpoint}'s text with {@code key}, naming the key by the checkpoint's origin. */
    public static SignedCheckpoint sign(Checkpoint checkpoint, CheckpointKey key) {
        String text = checkpoint.text();
        byte[] sig = key.sign(text.getBytes(StandardCharsets.UTF_8));
        byte[] line = ByteBuffer.allocate(4 + sig.length).putInt(keyId(checkpoint.origin(), key.publicKey())).put(sig)
                .array();
        return new SignedCheckpoint(checkpoint, text + "\n" + DASH + checkpoint.origin() + " "
                + Base64.getEncoder().encodeToString(line) + "\n");
    }

    /** The C2SP key ID of an Ed25519 key named {@code keyName}. */
    public static int keyId(String keyName, byte[] ed25519PublicKey) {
        byte[] name = keyName.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(name.length + 2 + ed25519PublicKey.length);
        b.put(name).put((byte) '\n').put(ED25519).put(ed25519PublicKey);
        return ByteBuffer.wrap(sha256(b.array()), 0, 4).getInt();
    }

    /**
     * The verifier key in the text form of Go's {@code golang.org/x/mod/sumdb/note}:
     * {@code <name>+<key ID, 8 hex digits>+<base64(0x01 || public key)>}.
     */
    public static String verifierKey(String keyName, byte[] ed25519PublicKey) {
        byte[] data = new byte[1 + ed25519PublicKey.length];
        data[0] = ED25519;
        System.arraycopy(ed25519PublicKey, 0, data, 1, ed25519PublicKey.length);
        return keyName + "+" + String.format("%08x", keyId(keyName, ed25519PublicKey)) + "+"
                + Base64.getEncoder().encodeToString(data);
    }

    /**
     * Reads the checkpoint a note states, without checking any signature: only for display and for
     * reading back what this control plane stored. Anything that decides must use
     * {@link CheckpointVerifier#verify}.
     */
    public static Checkpoint readUnverified(String note) throws CheckpointException {
        return parse(note).checkpoint();
    }

    static ParsedNote parse(String note) throws CheckpointException {
        byte[] bytes = note.getBytes(StandardCharsets.UTF_8);
        if (bytes.length > MAX_NOTE_BYTES) {
            throw new CheckpointException("the checkpoint note is " + bytes.length + " bytes; at most "
                    + MAX_NOTE_BYTES + " are accepted");
        }
        for (int i = 0; i < note.length(); i++) {
            char ch = note.charAt(i);
            if ((ch < 0x20 && ch != '\n') || ch == 0x7f || Character.isSurrogate(ch) && !validSurrogateAt(note, i)) {
                throw new CheckpointException("the checkpoint note contains a control character or invalid text at "
                        + "offset " + i + " (a note holds printable UTF-8 and newlines only)");
            }
        }
        if (!note.endsWith("\n")) {
            throw new CheckpointException("the checkpoint note does not end with a newline (truncated file?)");
        }
        int split = note.lastIndexOf("\n\n");
        if (split < 0) {
            throw new CheckpointException("the checkpoint note has no blank line before its signatures: not a signed note");
        }
        String text = note.substring(0, split + 1);
        String[] sigLines = note.substring(split + 2).split("\n", -1);
        List<NoteSignature> signatures = new ArrayList<>();
        // split leaves one empty string after the final newline
        for (int i = 0; i < sigLines.length - 1; i++) {
            if (signatures.size() == MAX_SIGNATURES) {
                throw new CheckpointException("the checkpoint note has more than " + MAX_SIGNATURES + " signatures");
            }
            signatures.add(signatureLine(sigLines[i]));
        }
        if (signatures.isEmpty()) {
            throw new CheckpointException("the checkpoint note has no signature lines");
        }
        return new ParsedNote(text, checkpoint(text), List.copyOf(signatures));
    }

    private static boolean validSurrogateAt(String s, int i) {
        char ch = s.charAt(i);
        if (Character.isHighSurrogate(ch)) {
            return i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1));
        }
        return i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }

    private static NoteSignature signatureLine(String line) throws CheckpointException {
        if (!line.startsWith(DASH)) {
            throw new CheckpointException("a signature line of the checkpoint note does not start with an em dash "
                    + "and a space");
        }
        String rest = line.substring(DASH.length());
        int space = rest.indexOf(' ');
        if (space <= 0 || rest.indexOf(' ', space + 1) >= 0) {
            throw new CheckpointException("a signature line of the checkpoint note is not '— <key name> <base64>'");
        }
        String name = rest.substring(0, space);
        if (name.contains("+")) {
            throw new CheckpointException("a signature line of the checkpoint note names a key containing '+'");
        }
        byte[] sig;
        String encoded = rest.substring(space + 1);
        try {
            sig = Base64.getDecoder().decode(encoded);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException("a signature of the checkpoint note is not valid base64");
        }
        if (!Base64.getEncoder().encodeToString(sig).equals(encoded)) {
            // one signature, one spelling: unused trailing bits or missing padding are refused
            throw new CheckpointException("a signature of the checkpoint note is not in canonical padded base64");
        }
        if (sig.length < 5) {
            throw new CheckpointException("a signature of the checkpoint note is too short to hold a key ID and a signature");
        }
        return new NoteSignature(name, ByteBuffer.wrap(sig, 0, 4).getInt(), Arrays.copyOfRange(sig, 4, sig.length));
    }

    private static Checkpoint checkpoint(String text) throws CheckpointException {
        String[] lines = text.split("\n", -1);
        // five lines, each ending in a newline: six parts, the last empty
        if (lines.length != 6) {
            throw new CheckpointException("the checkpoint text has " + (lines.length - 1) + " lines; an AttestMesh "
                    + "checkpoint has 5 (origin, size, head hash, timestamp, ca-root-sha256)");
        }
        String origin = lines[0];
        if (!Checkpoint.ORIGIN.matcher(origin).matches()) {
            throw new CheckpointException("the checkpoint origin (line 1) must be 1-" + Checkpoint.MAX_ORIGIN
                    + " printable ASCII characters without spaces or '+'");
        }
        if (!DECIMAL.matcher(lines[1]).matches()) {
            throw new CheckpointException("the checkpoint size (line 2) must be a decimal number without leading zeros");
        }
        long size;
        try {
            size = Long.parseLong(lines[1]);
        } catch (NumberFormatException e) {
            throw new CheckpointException("the checkpoint size (line 2) is out of range");
        }
        byte[] head;
        try {
            head = Base64.getDecoder().decode(lines[2]);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException("the checkpoint head hash (line 3) is not valid base64");
        }
        if (head.length != 32 || !Base64.getEncoder().encodeToString(head).equals(lines[2])) {
            throw new CheckpointException("the checkpoint head hash (line 3) must be the padded base64 of 32 bytes");
        }
        String ts = field(lines[3], "timestamp ", 4);
        if (!DECIMAL.matcher(ts).matches()) {
            throw new CheckpointException("the checkpoint timestamp (line 4) must be decimal Unix seconds");
        }
        String root = field(lines[4], "ca-root-sha256 ", 5);
        if (!HEX64.matcher(root).matches()) {
            throw new CheckpointException("the checkpoint CA root digest (line 5) must be 64 lower-case hex digits");
        }
        try {
            return new Checkpoint(origin, size, HexFormat.of().formatHex(head), Instant.ofEpochSecond(Long.parseLong(ts)),
                    root);
        } catch (RuntimeException e) {
            throw new CheckpointException("the checkpoint is invalid: " + e.getMessage());
        }
    }

    private static String field(String line, String key, int number) throws CheckpointException {
        if (!line.startsWith(key)) {
            throw new CheckpointException("line " + number + " of the checkpoint must start with '" + key.strip() + " '");
        }
        return line.substring(key.length());
    }

    /** Decodes strict UTF-8 (malformed input refused), for notes read from files or the network. */
    public static String decodeUtf8(byte[] bytes) throws CheckpointException {
        if (bytes.length > MAX_NOTE_BYTES) {
            throw new CheckpointException("the checkpoint note is " + bytes.length + " bytes; at most "
                    + MAX_NOTE_BYTES + " are accepted");
        }
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
            return chars.toString();
        } catch (CharacterCodingException e) {
            throw new CheckpointException("the checkpoint note is not valid UTF-8");
        }
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available in this JVM", e);
        }
    }
}
