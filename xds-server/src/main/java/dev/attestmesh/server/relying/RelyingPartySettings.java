package dev.attestmesh.server.relying;

/**
 * How the relying-party endpoints behave: dev mode (the statement comes from the simulated TEE and every
 * answer says INSECURE) and the limits of the unauthenticated endpoints.
 *
 * @param devMode {@code attestmesh.dev-mode}
 * @param statementLimiter bounds evidence collection ({@code attestmesh.statement.rate}, {@code .burst},
 *     {@code .concurrent}) and per caller address ({@code .peer-rate}, {@code .peer-burst})
 * @param manifestLimiter bounds manifest building ({@code attestmesh.statement.manifest-rate})
 */
public record RelyingPartySettings(boolean devMode, StatementLimiter statementLimiter, StatementLimiter manifestLimiter) {}
