package dev.attestmesh.server.admin;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.micronaut.core.annotation.AnnotationMetadata;
import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.type.Argument;
import io.micronaut.http.HttpMethod;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.annotation.Body;
import io.micronaut.http.annotation.PathVariable;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.http.MediaType;
import io.micronaut.web.router.UriRouteInfo;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Generates the OpenAPI 3.0 document of the admin HTTP API from the application's route table, so it
 * always matches the code: one operation per route (method, path template, path and query parameters,
 * JSON request body), schemas from the request and response records' components, the bearer security
 * scheme, and each operation's required role as {@code x-attestmesh-role} (from {@link RequiresRole} or
 * the GET/other default). A handler that returns {@code HttpResponse<?>} (its body type is chosen at run
 * time) declares its answers with {@link ApiAnswer}, and the document refuses to render without them, so no
 * route's body goes undescribed. Every error answer has the {@link ApiError} schema.
 *
 * <p>The document is committed as {@code docs/openapi.yaml}; {@code OpenApiCommittedTest} fails when the
 * served document differs from it and rewrites it with {@code -Dattestmesh.openapi.update=true}.
 *
 * <p>micronaut-openapi 7.0.0 (the version for Micronaut 5.0.2) is not on Maven Central, and 6.x is built
 * for Micronaut 4, hence this generator.
 */
public final class OpenApiDocument {
    private final Map<String, Object> schemas = new TreeMap<>();

    private OpenApiDocument() {}

    /** The document for {@code routes} (typically {@code Router.uriRoutes()}), as YAML. */
    public static String yaml(Collection<UriRouteInfo<?, ?>> routes, String version) {
        return new OpenApiDocument().render(routes, version);
    }

    private String render(Collection<UriRouteInfo<?, ?>> routes, String version) {
        Map<String, Map<String, Object>> paths = new TreeMap<>();
        List<UriRouteInfo<?, ?>> sorted = new ArrayList<>(routes);
        sorted.sort(Comparator.comparing((UriRouteInfo<?, ?> r) -> r.getUriMatchTemplate().toPathString())
                .thenComparing(r -> r.getHttpMethodName()));
        for (UriRouteInfo<?, ?> r : sorted) {
            String path = r.getUriMatchTemplate().toPathString();
            if (r.isErrorRoute() || path.equals("/ui") || path.startsWith("/ui/")) {
                continue; // the web console's static files (docs/console.md) are not part of the API
            }
            paths.computeIfAbsent(path, p -> new LinkedHashMap<>())
                    .put(r.getHttpMethodName().toLowerCase(Locale.ROOT), operation(r, path));
        }
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("openapi", "3.0.3");
        doc.put("info", Map.of("title", "AttestMesh admin API", "version", version, "description",
                "Control plane administration: nodes (and their release), policies, registrations, revocations, trust bundle, "
                        + "issuance log, CA, tokens. "
                        + "Generated from the route table at run time."));
        doc.put("paths", paths);
        doc.put("components", Map.of("schemas", schemas, "securitySchemes",
                Map.of("bearer", Map.of("type", "http", "scheme", "bearer"))));
        try {
            return YAMLMapper.builder(YAMLFactory.builder().disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
                    .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES).build())
                    // Map.of iterates in a per-JVM order: sort every map's keys, so the document is byte-stable
                    // (it is committed as docs/openapi.yaml and compared in a test)
                    .enable(com.fasterxml.jackson.databind.SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
                    .build().writeValueAsString(doc);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("OpenAPI document does not serialise: " + e.getMessage(), e);
        }
    }

    private Map<String, Object> operation(UriRouteInfo<?, ?> r, String path) {
        Map<String, Object> op = new LinkedHashMap<>();
        op.put("operationId", r.getDeclaringType().getSimpleName().replace("Controller", "") + "_"
                + r.getTargetMethod().getMethodName());
        op.put("tags", List.of(r.getDeclaringType().getSimpleName().replace("Controller", "")));
        List<Object> params = new ArrayList<>();
        Object body = null;
        for (Argument<?> a : r.getTargetMethod().getArguments()) {
            AnnotationMetadata m = a.getAnnotationMetadata();
            if (m.hasAnnotation(PathVariable.class) || r.getUriMatchTemplate().getVariableNames().contains(a.getName())
                    && !m.hasAnnotation(Body.class) && !HttpRequest.class.isAssignableFrom(a.getType())) {
                params.add(Map.of("name", a.getName(), "in", "path", "required", true, "schema", schema(a.getType(), a.getType())));
            } else if (m.hasAnnotation(QueryValue.class)) {
                params.add(Map.of("name", a.getName(), "in", "query", "required", !a.isNullable()
                        && !m.hasAnnotation(Nullable.class) && !m.hasStereotype(Nullable.class),
                        "schema", schema(a.getType(), a.getType())));
            } else if (m.hasAnnotation(Body.class)) {
                List<MediaType> consumes = r.getConsumes();
                Map<String, Object> content = new LinkedHashMap<>();
                for (MediaType t : consumes.isEmpty() ? List.of(MediaType.APPLICATION_JSON_TYPE) : consumes) {
                    content.put(t.getName(), Map.of("schema", schema(a.getType(), a.getType())));
                }
                body = Map.of("required", !m.hasAnnotation(Nullable.class), "content", content);
            }
        }
        if (!params.isEmpty()) {
            op.put("parameters", params);
        }
        if (body != null) {
            op.put("requestBody", body);
        }
        Map<String, Object> responses = new TreeMap<>();
        java.lang.reflect.Method method = r.getTargetMethod().getTargetMethod();
        ApiAnswer[] answers = method.getAnnotationsByType(ApiAnswer.class);
        List<MediaType> produces = r.getProduces();
        if (answers.length > 0) {
            Map<Integer, List<ApiAnswer>> byStatus = new TreeMap<>();
            for (ApiAnswer a : answers) {
                byStatus.computeIfAbsent(a.status(), k -> new ArrayList<>()).add(a);
            }
            byStatus.forEach((status, list) -> responses.put(String.valueOf(status), response(list, produces)));
        } else {
            Class<?> returned = r.getTargetMethod().getReturnType().getType();
            Type generic = method.getGenericReturnType();
            if (HttpResponse.class.isAssignableFrom(returned)) {
                // HttpResponse<T> with a concrete T says the body; HttpResponse<?> needs @ApiAnswer.
                if (!(generic instanceof ParameterizedType pt) || !(pt.getActualTypeArguments()[0] instanceof Class<?>
                        || pt.getActualTypeArguments()[0] instanceof ParameterizedType)) {
                    throw new IllegalStateException(r.getDeclaringType().getSimpleName() + "." + method.getName()
                            + " returns HttpResponse<?>: declare its answers with @ApiAnswer");
                }
                Type t = pt.getActualTypeArguments()[0];
                returned = t instanceof Class<?> c ? c : (Class<?>) ((ParameterizedType) t).getRawType();
                generic = t;
            }
            Map<String, Object> content = new LinkedHashMap<>();
            for (MediaType t : produces) {
                content.put(t.getName(), Map.of("schema", schema(returned, generic)));
            }
            responses.put("200", Map.of("description", "success", "content", content));
        }
        boolean secured = !path.equals("/health") && !path.startsWith("/health/");
        secured &= !path.startsWith("/.well-known/"); // relying-party endpoints need no credentials
        if (secured) {
            responses.put("401", error("missing or invalid credentials"));
            responses.put("403", error("role too low"));
            op.put("security", List.of(Map.of("bearer", List.of())));
            op.put("x-attestmesh-role", role(r).name().toLowerCase(Locale.ROOT));
        }
        responses.put("default", error("any other error (404 no such route, 405 method not allowed, 413 body over "
                + "1 MiB, 415 unsupported media type, 5xx)"));
        op.put("responses", responses);
        return op;
    }

    /** One status's answer: its body schema, or a choice of schemas when the route has several. */
    private Map<String, Object> response(List<ApiAnswer> answers, List<MediaType> produces) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("description", String.join("; ", answers.stream().map(ApiAnswer::description).toList()));
        List<Map<String, Object>> schemas = new ArrayList<>();
        for (ApiAnswer a : answers) {
            if (a.body() == Void.class) {
                continue;
            }
            Map<String, Object> one = a.body() == byte[].class ? Map.of("type", "string", "format", "binary")
                    : schema(a.body(), a.body());
            schemas.add(a.array() ? Map.of("type", "array", "items", one) : one);
        }
        if (!schemas.isEmpty()) {
            Map<String, Object> content = new LinkedHashMap<>();
            Map<String, Object> schema = schemas.size() == 1 ? schemas.getFirst() : Map.of("oneOf", schemas);
            boolean error = answers.getFirst().status() >= 400;
            for (MediaType t : error || produces.isEmpty() ? List.of(MediaType.APPLICATION_JSON_TYPE) : produces) {
                content.put(t.getName(), Map.of("schema", schema));
            }
            out.put("content", content);
        }
        return out;
    }

    private Map<String, Object> error(String description) {
        return Map.of("description", description, "content", Map.of(MediaType.APPLICATION_JSON,
                Map.of("schema", schema(ApiError.class, ApiError.class))));
    }

    private static AdminRole role(UriRouteInfo<?, ?> r) {
        Optional<AdminRole> declared = r.getAnnotationMetadata().enumValue(RequiresRole.class, AdminRole.class);
        if (declared.isPresent()) {
            return declared.get();
        }
        return r.getHttpMethod() == HttpMethod.GET || r.getHttpMethod() == HttpMethod.HEAD ? AdminRole.VIEWER
                : AdminRole.OPERATOR;
    }

    private Map<String, Object> schema(Class<?> raw, Type generic) {
        if (raw == String.class) {
            return Map.of("type", "string");
        }
        if (raw == int.class || raw == Integer.class || raw == long.class || raw == Long.class) {
            return Map.of("type", "integer", "format", raw == int.class || raw == Integer.class ? "int32" : "int64");
        }
        if (raw == boolean.class || raw == Boolean.class) {
            return Map.of("type", "boolean");
        }
        if (raw == byte[].class) {
            return Map.of("type", "string", "format", "binary");
        }
        if (raw == java.time.Instant.class) {
            return Map.of("type", "string", "format", "date-time");
        }
        if (raw.isArray()) {
            return Map.of("type", "array", "items", schema(raw.getComponentType(), raw.getComponentType()));
        }
        if (raw.isEnum()) {
            return Map.of("type", "string");
        }
        if (Collection.class.isAssignableFrom(raw)) {
            return Map.of("type", "array", "items", typeArgument(generic, 0));
        }
        if (Map.class.isAssignableFrom(raw)) {
            return Map.of("type", "object", "additionalProperties", typeArgument(generic, 1));
        }
        if (raw == Optional.class) {
            return typeArgument(generic, 0);
        }
        if (raw.isRecord()) {
            String name = raw.getSimpleName();
            if (!schemas.containsKey(name)) {
                schemas.put(name, Map.of()); // placeholder: records may refer to themselves
                Map<String, Object> props = new LinkedHashMap<>();
                List<String> required = new ArrayList<>();
                for (RecordComponent c : raw.getRecordComponents()) {
                    props.put(c.getName(), schema(c.getType(), c.getGenericType()));
                    if (!c.isAnnotationPresent(Nullable.class) && !c.getAccessor().isAnnotationPresent(Nullable.class)) {
                        required.add(c.getName());
                    }
                }
                Map<String, Object> s = new LinkedHashMap<>();
                s.put("type", "object");
                s.put("properties", props);
                if (!required.isEmpty()) {
                    s.put("required", required);
                }
                schemas.put(name, s);
            }
            return Map.of("$ref", "#/components/schemas/" + name);
        }
        return Map.of("type", "object");
    }

    private Map<String, Object> typeArgument(Type generic, int index) {
        if (generic instanceof ParameterizedType p && p.getActualTypeArguments().length > index) {
            Type t = p.getActualTypeArguments()[index];
            Class<?> raw = t instanceof Class<?> c ? c : t instanceof ParameterizedType pt ? (Class<?>) pt.getRawType()
                    : Object.class;
            return schema(raw, t);
        }
        return Map.of("type", "object");
    }
}
