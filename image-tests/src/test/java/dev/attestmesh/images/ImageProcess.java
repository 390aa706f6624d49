package dev.attestmesh.images;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Runs an image's entrypoint as a local process, as a container runtime would but without one: the layers unpacked
 * into {@code root}, the config's Entrypoint followed by the given arguments (or the config's Cmd), the config's Env
 * and nothing else of this environment, absolute image paths (the {@code java} found on the image's PATH, the
 * {@code @/app/jib-classpath-file} argument file and what it lists, {@code -D...=/path} values) remapped under
 * {@code root} (the arguments are not: host paths in them stand for mounted volumes), and, when this test runs as
 * root and {@code setpriv} exists, the config's User (uid:gid) as the process's user. What is not reproduced: namespaces, cgroup memory limits, a read-only root file system.
 */
final class ImageProcess {
    private static final Path SETPRIV = Path.of("/usr/bin/setpriv");

    private ImageProcess() {
    }

    /** Whether processes run as the image's user here (this test is root and setpriv exists). */
    static boolean runsAsImageUser() {
        return "root".equals(System.getProperty("user.name")) && Files.isExecutable(SETPRIV);
    }

    static ProcessBuilder command(OciImage image, Path root, List<String> args) throws IOException {
        List<String> entrypoint = image.strings("Entrypoint");
        if (entrypoint.isEmpty()) {
            throw new AssertionError(image.refName + " has no Entrypoint");
        }
        Map<String, String> env = image.env();
        List<String> cmd = new ArrayList<>();
        cmd.add(resolveOnPath(root, entrypoint.get(0), env.getOrDefault("PATH", "")).toString());
        for (String a : entrypoint.subList(1, entrypoint.size())) {
            cmd.add(remapArgument(root, a));
        }
        // The arguments are not remapped: host paths given here stand for volumes mounted into the container.
        cmd.addAll(args == null ? image.strings("Cmd") : args);
        String user = image.containerConfig().path("User").asText("");
        if (runsAsImageUser() && !user.isEmpty()) {
            String[] ug = user.split(":");
            List<String> wrapped = new ArrayList<>(List.of(SETPRIV.toString(), "--reuid=" + ug[0],
                    "--regid=" + (ug.length > 1 ? ug[1] : ug[0]), "--clear-groups", "--"));
            wrapped.addAll(cmd);
            cmd = wrapped;
        }
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().clear();
        for (Map.Entry<String, String> e : env.entrySet()) {
            pb.environment().put(e.getKey(), remapEnv(root, e.getKey(), e.getValue()));
        }
        String workingDir = image.containerConfig().path("WorkingDir").asText("");
        pb.directory(root.resolve(workingDir.isEmpty() ? "." : workingDir.substring(1)).toFile());
        return pb;
    }

    private static Path resolveOnPath(Path root, String program, String path) {
        if (program.startsWith("/")) {
            return under(root, program);
        }
        for (String dir : path.split(":")) {
            Path candidate = under(root, dir).resolve(program);
            if (Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        throw new AssertionError("the image's PATH (" + path + ") holds no executable " + program);
    }

    private static String remapArgument(Path root, String arg) throws IOException {
        if (arg.startsWith("@/")) {
            Path argFile = under(root, arg.substring(1));
            String content = Files.readString(argFile).strip();
            String remapped = Arrays.stream(content.split(":")).map(p -> p.startsWith("/") ? under(root, p).toString() : p)
                    .collect(Collectors.joining(":"));
            Path copy = argFile.resolveSibling(argFile.getFileName() + ".remapped");
            Files.writeString(copy, remapped, StandardCharsets.UTF_8);
            Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rw-r--r--"));
            return "@" + copy;
        }
        if (arg.startsWith("/")) {
            return under(root, arg).toString();
        }
        int eq = arg.indexOf("=/");
        if (arg.startsWith("-D") && eq > 0) {
            return arg.substring(0, eq + 1) + under(root, arg.substring(eq + 1));
        }
        return arg;
    }

    private static String remapEnv(Path root, String key, String value) {
        if (key.equals("PATH")) {
            return Arrays.stream(value.split(":")).map(p -> under(root, p).toString()).collect(Collectors.joining(":"));
        }
        return value.startsWith("/") ? under(root, value).toString() : value;
    }

    private static Path under(Path root, String absolute) {
        return root.resolve(absolute.replaceFirst("^/+", ""));
    }

    /**
     * Makes {@code root} and its parents up to {@code top} (a directory this test created) traversable by the image's
     * user, and {@code owned} (created if absent) writable by it only.
     */
    static void prepareFor(OciImage image, Path top, Path root, Path... owned) throws IOException {
        if (!root.startsWith(top)) {
            throw new IllegalArgumentException(root + " is not under " + top);
        }
        for (Path p = root; p.startsWith(top); p = p.getParent()) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        String user = image.containerConfig().path("User").asText("");
        for (Path o : owned) {
            Files.createDirectories(o);
            if (runsAsImageUser() && !user.isEmpty()) {
                String[] ug = user.split(":");
                Files.setAttribute(o, "unix:uid", Integer.parseInt(ug[0]));
                Files.setAttribute(o, "unix:gid", Integer.parseInt(ug.length > 1 ? ug[1] : ug[0]));
            }
            Files.setPosixFilePermissions(o, PosixFilePermissions.fromString("rwx------"));
        }
    }

    static Map<String, String> labels(OciImage image) {
        Map<String, String> out = new LinkedHashMap<>();
        image.containerConfig().path("Labels").properties().forEach(e -> out.put(e.getKey(), e.getValue().asText()));
        return out;
    }
}
