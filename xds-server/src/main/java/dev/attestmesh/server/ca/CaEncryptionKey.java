package dev.attestmesh.server.ca;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;

/**
 * The operator's CA encryption key as the control plane reads it, for the commands that open the store offline
 * ({@code attestmesh ca rekey}). One set of rules, the server's: {@code attestmesh.ca-key} /
 * {@code ATTESTMESH_CA_KEY} first, then the file named by {@code attestmesh.ca-key-file} /
 * {@code ATTESTMESH_CA_KEY_FILE}, then the key generated into {@code <data-dir>/ca-encryption.key}. An inline key
 * is used as given (as the server does); a key file's text is used with surrounding white space removed; a blank
 * one is no key. A key file is read bounded
 * ({@link #MAX_FILE_BYTES}) and must be UTF-8. Keys are {@code char[]} so a caller can wipe them; no message here
 * ever carries key material.
 */
public final class CaEncryptionKey {
    /** A key file larger than this is refused before it is read: a key is a line of text, not a document. */
    public static final int MAX_FILE_BYTES = 4096;
    /**
     * The shortest key {@code ca rekey} seals under. The server itself accepts any non-empty key (older data
     * directories must keep opening); a key chosen now is held to this floor. The generated key is 44 characters
     * (32 random bytes, base64).
     */
    public static final int MIN_NEW_KEY_CHARS = 16;

    /** Where a key came from; {@link #GENERATED_FILE} means {@code <data-dir>/ca-encryption.key}. */
    public enum Source {
        EXPLICIT_FILE("--old-key-file"),
        PROPERTY("attestmesh.ca-key"),
        ENVIRONMENT("ATTESTMESH_CA_KEY"),
        PROPERTY_FILE("attestmesh.ca-key-file"),
        ENVIRONMENT_FILE("ATTESTMESH_CA_KEY_FILE"),
        GENERATED_FILE(CaBootstrap.GENERATED_KEY_FILE);

        private final String label;

        Source(String label) {
            this.label = label;
        }

        /** How an operator names this source (never the key). */
        public String label() {
            return label;
        }
    }

    /** A key and where it came from. {@link #wipe()} it when done. */
    public record Loaded(char[] key, Source source, Optional<Path> file) {
        public void wipe() {
            Arrays.fill(key, '\0');
        }
    }

    private CaEncryptionKey() {}

    /**
     * The key the control plane would use for {@code dataDir}, found as the server finds it.
     *
     * @param properties Java system properties ({@code attestmesh.ca-key}, {@code attestmesh.ca-key-file})
     * @param env the environment ({@code ATTESTMESH_CA_KEY}, {@code ATTESTMESH_CA_KEY_FILE})
     * @throws IllegalArgumentException when no source holds a key, naming every place looked at
     */
    public static Loaded configured(Path dataDir, Map<String, String> properties, Map<String, String> env)
            throws IOException {
        Optional<String> inline = nonBlank(properties.get("attestmesh.ca-key"));
        if (inline.isPresent()) {
            return new Loaded(inline.get().toCharArray(), Source.PROPERTY, Optional.empty());
        }
        inline = nonBlank(env.get("ATTESTMESH_CA_KEY"));
        if (inline.isPresent()) {
            return new Loaded(inline.get().toCharArray(), Source.ENVIRONMENT, Optional.empty());
        }
        Optional<String> file = nonBlank(properties.get("attestmesh.ca-key-file"));
        if (file.isPresent()) {
            return fromFile(Path.of(file.get().strip()), Source.PROPERTY_FILE);
        }
        file = nonBlank(env.get("ATTESTMESH_CA_KEY_FILE"));
        if (file.isPresent()) {
            return fromFile(Path.of(file.get().strip()), Source.ENVIRONMENT_FILE);
        }
        Path generated = dataDir.resolve(CaBootstrap.GENERATED_KEY_FILE);
        if (Files.exists(generated)) {
            return fromFile(generated, Source.GENERATED_FILE);
        }
        throw new IllegalArgumentException("no CA encryption key: none of ATTESTMESH_CA_KEY, attestmesh.ca-key, "
                + "ATTESTMESH_CA_KEY_FILE, attestmesh.ca-key-file is set and " + generated + " does not exist; "
                + "give the key that seals this store with --old-key-file");
    }

    /**
     * Reads a key file: at most {@link #MAX_FILE_BYTES} bytes of UTF-8, white space around the key removed.
     *
     * @throws IllegalArgumentException when the file is missing, too large, not UTF-8 or holds no key
     */
    public static Loaded fromFile(Path file, Source source) throws IOException {
        byte[] bytes;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(MAX_FILE_BYTES + 1);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("the CA encryption key file " + file + " (" + source.label()
                    + ") does not exist");
        }
        try {
            if (bytes.length > MAX_FILE_BYTES) {
                throw new IllegalArgumentException("the CA encryption key file " + file + " (" + source.label()
                        + ") is larger than " + MAX_FILE_BYTES + " bytes: it is not a key file");
            }
            CharBuffer chars;
            try {
                chars = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes));
            } catch (CharacterCodingException e) {
                throw new IllegalArgumentException("the CA encryption key file " + file + " (" + source.label()
                        + ") is not UTF-8 text");
            }
            char[] key = strip(chars);
            if (chars.hasArray()) {
                Arrays.fill(chars.array(), '\0');
            }
            if (key.length == 0) {
                throw new IllegalArgumentException("the CA encryption key file " + file + " (" + source.label()
                        + ") is empty: a CA encryption key must not be empty");
            }
            return new Loaded(key, source, Optional.of(file));
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    /**
     * Refuses a key too weak to seal under now: empty (the server's rule) or shorter than {@link #MIN_NEW_KEY_CHARS}.
     */
    public static void requireStrongEnoughToSealUnder(char[] key, String what) {
        if (key.length == 0) {
            throw new IllegalArgumentException(what + " is empty: a CA encryption key must not be empty");
        }
        if (key.length < MIN_NEW_KEY_CHARS) {
            throw new IllegalArgumentException(what + " is " + key.length + " characters long; a new CA encryption "
                    + "key needs at least " + MIN_NEW_KEY_CHARS + " (for example `openssl rand -base64 32`)");
        }
    }

    private static char[] strip(CharBuffer chars) {
        int from = chars.position();
        int to = chars.limit();
        while (from < to && Character.isWhitespace(chars.get(from))) {
            from++;
        }
        while (to > from && Character.isWhitespace(chars.get(to - 1))) {
            to--;
        }
        char[] out = new char[to - from];
        for (int i = from; i < to; i++) {
            out[i - from] = chars.get(i);
        }
        return out;
    }

    private static Optional<String> nonBlank(String s) {
        return s == null || s.isBlank() ? Optional.empty() : Optional.of(s);
    }
}
