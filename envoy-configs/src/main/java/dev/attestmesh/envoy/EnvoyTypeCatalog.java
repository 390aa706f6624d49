package dev.attestmesh.envoy;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.TypeRegistry;
import com.google.protobuf.util.JsonFormat;
import io.envoyproxy.envoy.config.bootstrap.v3.Bootstrap;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Every protobuf file descriptor shipped in the java-control-plane {@code api} jar (Envoy, xDS, UDPA,
 * PGV {@code validate}, CEL, OpenTelemetry, Prometheus and Google API types), with a {@link TypeRegistry}
 * over all their message types.
 *
 * <p>How the descriptors are found: the {@code api} jar ships the {@code .proto} source of every file it
 * was generated from. The catalog lists those sources, reads each one's {@code package},
 * {@code java_package} and {@code java_outer_classname} options, derives the generated outer class exactly
 * as {@code protoc} does (falling back to the {@code OuterClass} suffix protoc uses on a name clash) and
 * takes {@code getDescriptor()} from it. Every dependency of a loaded file is added transitively, so the
 * well-known types come along. This finds extension types (filters, transport sockets, access loggers)
 * that no top-level config imports, and it is checked: a source whose generated class cannot be found or
 * whose descriptor names another file is an error at load time, not a silent gap. If a future jar stops
 * shipping sources, the catalog falls back to loading every top-level class named {@code *Proto} or
 * {@code *OuterClass} that has a static {@code getDescriptor()}.
 *
 * <p>Loading initialises about 600 generated classes and takes about a second; {@link #standard()} does
 * it once per class loader and the result is immutable and thread-safe.
 */
public final class EnvoyTypeCatalog {

    private static final Pattern PACKAGE = Pattern.compile("(?m)^\\s*package\\s+([\\w.]+)\\s*;");
    private static final Pattern JAVA_PACKAGE =
            Pattern.compile("(?m)^\\s*option\\s+java_package\\s*=\\s*\"([\\w.]+)\"\\s*;");
    private static final Pattern JAVA_OUTER =
            Pattern.compile("(?m)^\\s*option\\s+java_outer_classname\\s*=\\s*\"(\\w+)\"\\s*;");

    private final Map<String, FileDescriptor> files;
    private final TypeRegistry typeRegistry;
    private final JsonFormat.TypeRegistry jsonTypeRegistry;

    private EnvoyTypeCatalog(Map<String, FileDescriptor> files) {
        this.files = Collections.unmodifiableMap(files);
        TypeRegistry.Builder registry = TypeRegistry.newBuilder();
        JsonFormat.TypeRegistry.Builder jsonRegistry = JsonFormat.TypeRegistry.newBuilder();
        for (FileDescriptor file : files.values()) {
            // add(Descriptor) registers the type's whole file (nested types included) and its dependencies.
            for (Descriptor type : file.getMessageTypes()) {
                registry.add(type);
                jsonRegistry.add(type);
            }
        }
        this.typeRegistry = registry.build();
        this.jsonTypeRegistry = jsonRegistry.build();
    }

    /** The catalog of the {@code api} jar on this class path, loaded once and shared. */
    public static EnvoyTypeCatalog standard() {
        return Standard.INSTANCE;
    }

    private static final class Standard {
        static final EnvoyTypeCatalog INSTANCE = load(Bootstrap.class);
    }

    /**
     * Loads the catalog of the jar (or class directory) that holds {@code anchor}.
     *
     * @throws IllegalStateException if the jar cannot be read or a shipped {@code .proto} has no loadable
     *     generated class; the message names the file
     */
    static EnvoyTypeCatalog load(Class<?> anchor) {
        Path location;
        try {
            location = Path.of(anchor.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException | RuntimeException e) {
            throw new IllegalStateException("cannot locate the java-control-plane api jar holding "
                    + anchor.getName() + "; put io.envoyproxy.controlplane:api on the class path", e);
        }
        ClassLoader loader = anchor.getClassLoader();
        Map<String, String> protoSources = readProtoSources(location);
        Map<String, FileDescriptor> files = new LinkedHashMap<>();
        if (!protoSources.isEmpty()) {
            for (Map.Entry<String, String> source : protoSources.entrySet()) {
                if (source.getKey().startsWith("google/protobuf/")) {
                    continue; // well-known types live in protobuf-java and arrive as dependencies
                }
                addTransitively(files, descriptorOfSource(source.getKey(), source.getValue(), loader));
            }
        } else {
            for (String className : outerClassNamesByConvention(location)) {
                descriptorOfClass(className, loader).ifPresent(file -> addTransitively(files, file));
            }
        }
        if (files.isEmpty()) {
            throw new IllegalStateException("no protobuf descriptors found in " + location
                    + "; expected the java-control-plane api jar");
        }
        return new EnvoyTypeCatalog(files);
    }

    /** The registry of every message type in the catalog, for {@code Any} unpacking. */
    public TypeRegistry typeRegistry() {
        return typeRegistry;
    }

    /** The same registry in the form {@link JsonFormat} wants, for {@code "@type"} resolution. */
    public JsonFormat.TypeRegistry jsonTypeRegistry() {
        return jsonTypeRegistry;
    }

    /** The message type with this full name (e.g. {@code envoy.config.bootstrap.v3.Bootstrap}). */
    public Optional<Descriptor> findMessageType(String fullName) {
        return Optional.ofNullable(typeRegistry.find(fullName));
    }

    /** Names of all loaded files, e.g. {@code envoy/config/bootstrap/v3/bootstrap.proto}, sorted. */
    public Set<String> fileNames() {
        return Collections.unmodifiableSet(new TreeSet<>(files.keySet()));
    }

    private static void addTransitively(Map<String, FileDescriptor> files, FileDescriptor root) {
        Deque<FileDescriptor> pending = new ArrayDeque<>();
        pending.push(root);
        while (!pending.isEmpty()) {
            FileDescriptor file = pending.pop();
            if (files.putIfAbsent(file.getName(), file) == null) {
                file.getDependencies().forEach(pending::push);
            }
        }
    }

    private static FileDescriptor descriptorOfSource(String protoPath, String source, ClassLoader loader) {
        String protoPackage = firstGroup(PACKAGE, source).orElse("");
        String javaPackage = firstGroup(JAVA_PACKAGE, source).orElse(protoPackage);
        String baseName = protoPath.substring(protoPath.lastIndexOf('/') + 1, protoPath.length() - ".proto".length());
        List<String> candidates = new ArrayList<>();
        firstGroup(JAVA_OUTER, source).ifPresent(candidates::add);
        String derived = underscoresToCamelCase(baseName);
        candidates.add(derived);
        candidates.add(derived + "OuterClass");
        String prefix = javaPackage.isEmpty() ? "" : javaPackage + ".";
        for (String outer : candidates) {
            Optional<FileDescriptor> file = descriptorOfClass(prefix + outer, loader);
            if (file.isPresent()) {
                if (!file.get().getName().equals(protoPath)) {
                    throw new IllegalStateException("generated class " + prefix + outer + " describes "
                            + file.get().getName() + ", not " + protoPath + "; the api jar is inconsistent");
                }
                return file.get();
            }
        }
        throw new IllegalStateException("no generated descriptor class for " + protoPath + " (tried "
                + candidates.stream().map(c -> prefix + c).toList() + "); the api jar is incomplete");
    }

    private static Optional<FileDescriptor> descriptorOfClass(String className, ClassLoader loader) {
        try {
            Class<?> type = Class.forName(className, true, loader);
            Method getter = type.getMethod("getDescriptor");
            if (!Modifier.isStatic(getter.getModifiers()) || getter.getReturnType() != FileDescriptor.class) {
                return Optional.empty();
            }
            return Optional.of((FileDescriptor) getter.invoke(null));
        } catch (ClassNotFoundException | NoSuchMethodException e) {
            return Optional.empty();
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot initialise generated class " + className, e);
        }
    }

    /** protoc's java outer class name derivation: drop non-alphanumerics, capitalise the following letter. */
    static String underscoresToCamelCase(String name) {
        StringBuilder out = new StringBuilder(name.length());
        boolean capitalizeNext = true;
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c >= 'a' && c <= 'z') {
                out.append(capitalizeNext ? Character.toUpperCase(c) : c);
                capitalizeNext = false;
            } else if (c >= 'A' && c <= 'Z') {
                out.append(c);
                capitalizeNext = false;
            } else if (c >= '0' && c <= '9') {
                out.append(c);
                capitalizeNext = true;
            } else {
                capitalizeNext = true;
            }
        }
        return out.toString();
    }

    private static Optional<String> firstGroup(Pattern pattern, String text) {
        Matcher matcher = pattern.matcher(text);
        return matcher.find() ? Optional.of(matcher.group(1)) : Optional.empty();
    }

    private static Map<String, String> readProtoSources(Path location) {
        Map<String, String> sources = new LinkedHashMap<>();
        try {
            if (Files.isDirectory(location)) {
                try (Stream<Path> walk = Files.walk(location)) {
                    for (Path file : walk.filter(p -> p.toString().endsWith(".proto")).sorted().toList()) {
                        sources.put(location.relativize(file).toString().replace('\\', '/'),
                                Files.readString(file, StandardCharsets.UTF_8));
                    }
                }
            } else {
                try (JarFile jar = new JarFile(location.toFile())) {
                    List<JarEntry> entries = jar.stream()
                            .filter(e -> !e.isDirectory() && e.getName().endsWith(".proto"))
                            .sorted((a, b) -> a.getName().compareTo(b.getName()))
                            .toList();
                    for (JarEntry entry : entries) {
                        try (InputStream in = jar.getInputStream(entry)) {
                            sources.put(entry.getName(), new String(in.readAllBytes(), StandardCharsets.UTF_8));
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read protobuf sources from " + location, e);
        }
        return sources;
    }

    private static List<String> outerClassNamesByConvention(Path location) {
        try {
            Stream<String> names;
            if (Files.isDirectory(location)) {
                try (Stream<Path> walk = Files.walk(location)) {
                    names = walk.map(p -> location.relativize(p).toString().replace('\\', '/')).toList().stream();
                }
            } else {
                try (JarFile jar = new JarFile(location.toFile())) {
                    names = jar.stream().map(JarEntry::getName).toList().stream();
                }
            }
            return names.filter(n -> n.endsWith("Proto.class") || n.endsWith("OuterClass.class"))
                    .filter(n -> !n.contains("$"))
                    .map(n -> n.substring(0, n.length() - ".class".length()).replace('/', '.'))
                    .sorted()
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list classes in " + location, e);
        }
    }
}
