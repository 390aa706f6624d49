package dev.attestmesh.images;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;

/**
 * An OCI image layout tarball (what {@code jib:buildTar} writes with format OCI) read back the way a container runtime
 * reads it: {@code index.json} to the manifest, the manifest to the config and the layers, every blob checked against
 * its digest and every layer's uncompressed content against the config's {@code diff_ids}, then the layers unpacked
 * in order into a root file system.
 */
final class OciImage {
    private static final ObjectMapper JSON = new ObjectMapper();

    final String refName;
    final JsonNode manifest;
    final JsonNode config;
    /** Per layer, in order: the paths it holds (as in the tar, without a leading "./" or "/"). */
    final List<List<String>> layerEntries = new ArrayList<>();
    private final Map<String, byte[]> blobs;

    private OciImage(Map<String, byte[]> blobs, String refName, JsonNode manifest, JsonNode config) {
        this.blobs = blobs;
        this.refName = refName;
        this.manifest = manifest;
        this.config = config;
    }

    static OciImage read(Path tarball) throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        try (InputStream in = Files.newInputStream(tarball)) {
            Tar.read(in, (entry, data) -> {
                if (entry.type() == Tar.FILE) {
                    files.put(entry.path(), data.readAllBytes());
                }
            });
        }
        check(new String(files.getOrDefault("oci-layout", new byte[0]), StandardCharsets.UTF_8)
                .contains("\"imageLayoutVersion\""), tarball + ": no oci-layout file");
        JsonNode index = JSON.readTree(required(files, "index.json", tarball));
        check(index.path("manifests").size() == 1, tarball + ": index.json should list one manifest: " + index);
        JsonNode ref = index.path("manifests").get(0);
        JsonNode manifest = JSON.readTree(blob(files, ref.path("digest").asText(), tarball));
        JsonNode config = JSON.readTree(blob(files, manifest.path("config").path("digest").asText(), tarball));
        OciImage image = new OciImage(files, ref.path("annotations").path("org.opencontainers.image.ref.name").asText(),
                manifest, config);
        JsonNode diffIds = config.path("rootfs").path("diff_ids");
        JsonNode layers = manifest.path("layers");
        check(diffIds.size() == layers.size(), tarball + ": " + layers.size() + " layers but " + diffIds.size() + " diff_ids");
        for (int i = 0; i < layers.size(); i++) {
            byte[] gz = blob(files, layers.get(i).path("digest").asText(), tarball);
            check(layers.get(i).path("mediaType").asText().equals("application/vnd.oci.image.layer.v1.tar+gzip"),
                    tarball + ": layer " + i + " media type " + layers.get(i).path("mediaType"));
            MessageDigest sha = sha256();
            List<String> entries = new ArrayList<>();
            try (DigestInputStream in = new DigestInputStream(new GZIPInputStream(new java.io.ByteArrayInputStream(gz)), sha)) {
                Tar.read(in, (entry, data) -> entries.add(entry.path()));
                in.transferTo(java.io.OutputStream.nullOutputStream());
            }
            String diffId = "sha256:" + HexFormat.of().formatHex(sha.digest());
            check(diffId.equals(diffIds.get(i).asText()), tarball + ": layer " + i + " unpacks to " + diffId
                    + ", the config says " + diffIds.get(i).asText());
            image.layerEntries.add(entries);
        }
        return image;
    }

    JsonNode containerConfig() {
        return config.path("config");
    }

    List<String> strings(String field) {
        List<String> out = new ArrayList<>();
        containerConfig().path(field).forEach(n -> out.add(n.asText()));
        return out;
    }

    /** Env as a map (KEY=VALUE entries). */
    Map<String, String> env() {
        Map<String, String> env = new LinkedHashMap<>();
        for (String kv : strings("Env")) {
            int eq = kv.indexOf('=');
            env.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        return env;
    }

    List<String> allEntries() {
        return layerEntries.stream().flatMap(List::stream).toList();
    }

    /** Unpacks the layers in order into {@code root}, as an overlay would present them (whiteouts applied). */
    void unpack(Path root) throws IOException {
        Files.createDirectories(root);
        for (JsonNode layer : manifest.path("layers")) {
            byte[] gz = blobs.get("blobs/sha256/" + layer.path("digest").asText().substring("sha256:".length()));
            try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(gz))) {
                Tar.read(in, (entry, data) -> place(root, entry, data));
            }
        }
    }

    private static void place(Path root, Tar.Entry entry, InputStream data) throws IOException {
        if (entry.path().isEmpty()) {
            return;
        }
        Path target = root.resolve(entry.path()).normalize();
        check(target.startsWith(root), "layer entry escapes the root: " + entry.path());
        String name = target.getFileName().toString();
        if (name.startsWith(".wh.")) {
            Path gone = target.resolveSibling(name.substring(4));
            if (Files.isDirectory(gone, LinkOption.NOFOLLOW_LINKS)) {
                try (var s = Files.walk(gone)) {
                    for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        Files.delete(p);
                    }
                }
            } else {
                Files.deleteIfExists(gone);
            }
            return;
        }
        Files.createDirectories(target.getParent());
        switch (entry.type()) {
            case Tar.DIRECTORY -> {
                Files.createDirectories(target);
                Files.setPosixFilePermissions(target, permissions(entry.mode()));
            }
            case Tar.SYMLINK -> {
                Files.deleteIfExists(target);
                Files.createSymbolicLink(target, Path.of(entry.linkTarget()));
            }
            case Tar.HARDLINK -> Files.copy(root.resolve(entry.linkTarget()), target, StandardCopyOption.REPLACE_EXISTING);
            case Tar.FILE -> {
                Files.deleteIfExists(target);
                Files.copy(data, target);
                Files.setPosixFilePermissions(target, permissions(entry.mode()));
            }
            default -> { } // devices, fifos: not in these images
        }
    }

    private static Set<PosixFilePermission> permissions(int mode) {
        Set<PosixFilePermission> p = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
                PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE,
                PosixFilePermission.GROUP_READ, PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
                PosixFilePermission.OWNER_READ};
        for (int bit = 0; bit < order.length; bit++) {
            if ((mode & (1 << bit)) != 0) {
                p.add(order[bit]);
            }
        }
        return p;
    }

    private static byte[] blob(Map<String, byte[]> files, String digest, Path tarball) {
        check(digest.startsWith("sha256:"), tarball + ": digest " + digest);
        byte[] data = required(files, "blobs/sha256/" + digest.substring(7), tarball);
        String actual = "sha256:" + HexFormat.of().formatHex(sha256().digest(data));
        check(actual.equals(digest), tarball + ": blob " + digest + " hashes to " + actual);
        return data;
    }

    private static byte[] required(Map<String, byte[]> files, String name, Path tarball) {
        byte[] data = files.get(name);
        check(data != null, tarball + ": no " + name + " in " + files.keySet());
        return data;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void check(boolean ok, String message) {
        if (!ok) {
            throw new AssertionError(message);
        }
    }

    /** A minimal reader of POSIX/GNU tar streams: regular files, directories, links, PAX and GNU long names. */
    static final class Tar {
        static final char FILE = '0';
        static final char HARDLINK = '1';
        static final char SYMLINK = '2';
        static final char DIRECTORY = '5';

        record Entry(String path, char type, int mode, long size, String linkTarget) {}

        interface Visitor {
            void visit(Entry entry, InputStream data) throws IOException;
        }

        static void read(InputStream in, Visitor visitor) throws IOException {
            byte[] header = new byte[512];
            String longName = null;
            String longLink = null;
            Map<String, String> pax = Map.of();
            while (true) {
                if (!readFully(in, header)) {
                    return;
                }
                if (isZero(header)) {
                    return;
                }
                String name = string(header, 0, 100);
                int mode = (int) octal(header, 100, 8);
                long size = octal(header, 124, 12);
                char type = header[156] == 0 ? FILE : (char) header[156];
                String link = string(header, 157, 100);
                if ("ustar".equals(string(header, 257, 5))) {
                    String prefix = string(header, 345, 155);
                    if (!prefix.isEmpty()) {
                        name = prefix + "/" + name;
                    }
                }
                byte[] body = null;
                if (type == 'x' || type == 'L' || type == 'K' || type == 'g') {
                    body = new byte[Math.toIntExact(size)];
                    if (!readFully(in, body)) {
                        throw new EOFException("truncated tar header extension");
                    }
                    skip(in, pad(size));
                    if (type == 'L') {
                        longName = string(body, 0, body.length);
                    } else if (type == 'K') {
                        longLink = string(body, 0, body.length);
                    } else if (type == 'x') {
                        pax = paxRecords(body);
                    }
                    continue;
                }
                if (longName != null) {
                    name = longName;
                }
                if (longLink != null) {
                    link = longLink;
                }
                name = pax.getOrDefault("path", name);
                link = pax.getOrDefault("linkpath", link);
                if (pax.containsKey("size")) {
                    size = Long.parseLong(pax.get("size"));
                }
                longName = null;
                longLink = null;
                pax = Map.of();
                while (name.startsWith("./") || name.startsWith("/")) {
                    name = name.substring(name.startsWith("./") ? 2 : 1);
                }
                if (name.endsWith("/")) {
                    name = name.substring(0, name.length() - 1);
                }
                long dataSize = type == DIRECTORY || type == SYMLINK || type == HARDLINK ? 0 : size;
                BoundedInput data = new BoundedInput(in, dataSize);
                visitor.visit(new Entry(name, type == '7' ? FILE : type, mode, dataSize, link), data);
                data.transferTo(java.io.OutputStream.nullOutputStream());
                skip(in, pad(dataSize));
            }
        }

        private static Map<String, String> paxRecords(byte[] body) {
            Map<String, String> out = new LinkedHashMap<>();
            int i = 0;
            while (i < body.length) {
                int space = i;
                while (body[space] != ' ') {
                    space++;
                }
                int len = Integer.parseInt(new String(body, i, space - i, StandardCharsets.US_ASCII));
                String record = new String(body, space + 1, len - (space - i) - 2, StandardCharsets.UTF_8);
                int eq = record.indexOf('=');
                out.put(record.substring(0, eq), record.substring(eq + 1));
                i += len;
            }
            return out;
        }

        private static long pad(long size) {
            return (512 - size % 512) % 512;
        }

        private static boolean isZero(byte[] block) {
            for (byte b : block) {
                if (b != 0) {
                    return false;
                }
            }
            return true;
        }

        private static boolean readFully(InputStream in, byte[] buf) throws IOException {
            int n = in.readNBytes(buf, 0, buf.length);
            if (n == 0) {
                return false;
            }
            if (n < buf.length) {
                throw new EOFException("truncated tar stream");
            }
            return true;
        }

        /** Reads (never skips) {@code n} bytes: a digesting stream must see every byte. */
        private static void skip(InputStream in, long n) throws IOException {
            if (in.readNBytes(Math.toIntExact(n)).length != n) {
                throw new EOFException("truncated tar stream");
            }
        }

        private static String string(byte[] b, int off, int len) {
            int end = off;
            while (end < off + len && b[end] != 0) {
                end++;
            }
            return new String(b, off, end - off, StandardCharsets.UTF_8);
        }

        private static long octal(byte[] b, int off, int len) {
            String s = string(b, off, len).trim();
            return s.isEmpty() ? 0 : Long.parseLong(s, 8);
        }

        /** The data of one entry; never reads past it. */
        private static final class BoundedInput extends InputStream {
            private final InputStream in;
            private long left;

            BoundedInput(InputStream in, long size) {
                this.in = in;
                this.left = size;
            }

            @Override
            public int read() throws IOException {
                if (left <= 0) {
                    return -1;
                }
                int b = in.read();
                if (b < 0) {
                    throw new EOFException("truncated tar entry");
                }
                left--;
                return b;
            }

            @Override
            public int read(byte[] buf, int off, int len) throws IOException {
                if (left <= 0) {
                    return -1;
                }
                int n = in.read(buf, off, (int) Math.min(len, left));
                if (n < 0) {
                    throw new EOFException("truncated tar entry");
                }
                left -= n;
                return n;
            }
        }
    }

    static String readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        in.transferTo(out);
        return out.toString(StandardCharsets.UTF_8);
    }
}
