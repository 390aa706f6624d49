package dev.attestmesh.authz;

import com.google.protobuf.ByteOutput;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * The decision-cache key of a peer certificate field: SHA-256 over the field's bytes exactly as Envoy sent
 * them (still percent-encoded PEM; nothing is decoded), computed without copying or allocating. Protobuf
 * hands the bytes it already holds to the digest ({@link UnsafeByteOperations#unsafeWriteTo}; the digest
 * only reads them), and each thread keeps its own {@link MessageDigest} and output buffer, so a cached
 * Check costs one pass of the SHA-256 intrinsic over about 2.5 KiB and the small {@link DecisionCache.Key}.
 */
final class CertificateDigest {
    private static final ThreadLocal<CertificateDigest> PER_THREAD = ThreadLocal.withInitial(CertificateDigest::new);

    private final MessageDigest sha256;
    private final byte[] out = new byte[32];
    private final ByteOutput sink = new ByteOutput() {
        @Override
        public void write(byte value) {
            sha256.update(value);
        }

        @Override
        public void write(byte[] value, int offset, int length) {
            sha256.update(value, offset, length);
        }

        @Override
        public void writeLazy(byte[] value, int offset, int length) {
            sha256.update(value, offset, length);
        }

        @Override
        public void write(ByteBuffer value) {
            sha256.update(value);
        }

        @Override
        public void writeLazy(ByteBuffer value) {
            sha256.update(value);
        }
    };

    private CertificateDigest() {
        try {
            this.sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
    }

    /** The key of a decision by {@code certificateField} (exact bytes) and {@code required} policies. */
    static DecisionCache.Key of(ByteString certificateField, List<String> required) {
        return PER_THREAD.get().key(certificateField, required);
    }

    private DecisionCache.Key key(ByteString field, List<String> required) {
        sha256.reset();
        try {
            UnsafeByteOperations.unsafeWriteTo(field, sink);
            sha256.digest(out, 0, out.length);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // the sink never throws
        } catch (DigestException e) {
            throw new IllegalStateException("SHA-256 output buffer", e);
        }
        return new DecisionCache.Key(longAt(0), longAt(8), longAt(16), longAt(24), field.size(), "", required);
    }

    private long longAt(int i) {
        long v = 0;
        for (int j = i; j < i + 8; j++) {
            v = (v << 8) | (out[j] & 0xFF);
        }
        return v;
    }
}
