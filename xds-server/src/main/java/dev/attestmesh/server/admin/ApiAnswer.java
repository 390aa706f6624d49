package dev.attestmesh.server.admin;

import java.lang.annotation.ElementType;
import java.lang.annotation.Repeatable;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * One answer a route may give, for routes whose handler returns {@code HttpResponse<?>} (the body type is
 * chosen at run time, so the route table cannot say it). {@link OpenApiDocument} documents each declared
 * answer with its body schema; an error status defaults to {@link ApiError}, the body of every error.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
@Repeatable(ApiAnswer.List.class)
public @interface ApiAnswer {
    /** The HTTP status. */
    int status();

    /** The body's type; {@link Void} for none. */
    Class<?> body() default ApiError.class;

    /** Whether the body is a JSON array of {@link #body()}. */
    boolean array() default false;

    /** When the route gives this answer. */
    String description();

    /** The container of repeated {@link ApiAnswer}s. */
    @Retention(RetentionPolicy.RUNTIME)
    @Target(ElementType.METHOD)
    public @interface List {
        ApiAnswer[] value();
    }
}
