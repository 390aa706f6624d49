package dev.attestmesh.server.admin;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The least role a route needs. Routes without it need {@link AdminRole#VIEWER} for GET and HEAD and
 * {@link AdminRole#OPERATOR} for every other method (see {@link AdminAuthFilter}).
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.METHOD, ElementType.TYPE})
public @interface RequiresRole {
    AdminRole value();
}
