package dev.attestmesh.server.xds;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.Message;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * Content-derived xDS versions: the version of a resource list is a hash of its resources' deterministic
 * protobuf encoding, in list order. Equal content always gives the same version, across nodes and
 * control plane restarts, so a proxy is sent a type again only when its content for that type changed.
 */
public final class ResourceVersions {
    private ResourceVersions() {}

    /** 16 hex digits (64 bits) of SHA-256 over the resources; {@code "empty"} for no resources. */
    public static String of(List<? extends Message> resources) {
        if (resources.isEmpty()) {
            return "empty";
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[0];
            for (Message m : resources) {
                int size = m.getSerializedSize();
                if (buf.length < size) {
                    buf = new byte[Math.max(size, 2 * buf.length)]; // reused across the list's resources
                }
                CodedOutputStream out = CodedOutputStream.newInstance(buf, 0, size);
                out.useDeterministicSerialization(); // map fields in key order
                m.writeTo(out);
                out.checkNoSpaceLeft();
                sha.update(longBytes(size)); // length prefix: no ambiguity between neighbours
                sha.update(buf, 0, size);
            }
            return HexFormat.of().formatHex(sha.digest(), 0, 8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * One version from several versions (for a resource list built from parts whose versions are known
     * already): 16 hex digits of SHA-256 over the parts, length-prefixed.
     */
    public static String combine(String... versions) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (String v : versions) {
                byte[] b = v.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                sha.update(longBytes(b.length));
                sha.update(b);
            }
            return HexFormat.of().formatHex(sha.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] longBytes(long v) {
        byte[] b = new byte[8];
        for (int i = 7; i >= 0; i--) {
            b[i] = (byte) v;
            v >>>= 8;
        }
        return b;
    }
}
