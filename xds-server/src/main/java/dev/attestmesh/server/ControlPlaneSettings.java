package dev.attestmesh.server;

import dev.attestmesh.trustee.TrusteeServices;
import dev.attestmesh.admission.challenge.ChallengeLimits;
import dev.attestmesh.authz.CheckCallerAuthenticator;
import dev.attestmesh.identity.ServiceAccountTokenVerifier;
import dev.attestmesh.server.policy.PolicyRules;
import dev.attestmesh.server.store.DatabaseSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Control plane settings, resolved from command-line options, environment variables and configuration
 * files by Micronaut (see {@code application.yml} and docs/operator-guide.md).
 *
 * @param dataDir where the database, the CA encryption key (when generated) and {@code ca-bundle.pem}
 *     live
 * @param grpcBind address for the gRPC port (ADS/SDS, attestation, ext_authz)
 * @param grpcPort 0 picks a free port
 * @param policyFile policies offered at start: they seed a store holding no policy, or replace the stored set
 *     in apply mode ({@link dev.attestmesh.server.seed.DocumentFiles}); when absent, the stored policies are used
 * @param trustDomain SPIFFE trust domain of the mesh
 * @param caKey secret that encrypts the CA at rest; when absent one is generated into the data directory
 * @param serverNames DNS names and IP addresses for the control plane's own server certificate
 * @param nodeKeyFile path of the node agent's key file on every node, as Envoy reads it
 * @param nonceTtl lifetime of an attestation challenge
 * @param database where state is kept: the embedded H2 file database in {@code dataDir} by default, or
 *     PostgreSQL shared by several replicas (docs/operations-storage.md)
 * @param registrationFile registrations offered at start (same semantics as {@code policyFile});
 *     when absent, the stored registrations are used as they are
 * @param serviceAccountTokens verifies Kubernetes service-account tokens sent with a Challenge;
 *     {@link ServiceAccountTokenVerifier#DISABLED} refuses them all
 * @param devMode development mode ({@code attestmesh.dev-mode}): the embedded ext_authz admits nodes
 *     attested with the simulated TEE, whose evidence proves nothing; false in production
 * @param authzClientIdentities reserved SPIFFE IDs of operator-issued client certificates that may call
 *     the embedded ext_authz Check besides attested nodes ({@code attestmesh.authz.client-identities})
 * @param maxCertificateTtl longest certificate lifetime a policy may ask for
 *     ({@code attestmesh.max-certificate-ttl}, default {@link PolicyRules#DEFAULT_MAX_CERTIFICATE_TTL})
 * @param challengeLimits rate limits and outstanding-nonce caps of the Challenge RPC
 *     ({@code attestmesh.challenge.*}, docs/protocol.md)
 * @param trustee the Trustee attestation services {@code verifier: trustee} policies may name
 *     ({@code attestmesh.trustee.*}, docs/trustee.md)
 */
public record ControlPlaneSettings(Path dataDir, String grpcBind, int grpcPort, Optional<Path> policyFile,
        String trustDomain, Optional<String> caKey, List<String> serverNames, String nodeKeyFile, Duration nonceTtl,
        DatabaseSettings database, Optional<Path> registrationFile, ServiceAccountTokenVerifier serviceAccountTokens,
        boolean devMode, Set<String> authzClientIdentities, Duration maxCertificateTtl,
        ChallengeLimits challengeLimits, TrusteeServices trustee) {

    /** Settings with the embedded H2 store. */
    public ControlPlaneSettings(Path dataDir, String grpcBind, int grpcPort, Optional<Path> policyFile,
            String trustDomain, Optional<String> caKey, List<String> serverNames, String nodeKeyFile,
            Duration nonceTtl) {
        this(dataDir, grpcBind, grpcPort, policyFile, trustDomain, caKey, serverNames, nodeKeyFile, nonceTtl,
                DatabaseSettings.embedded(), Optional.empty(), ServiceAccountTokenVerifier.DISABLED, false, Set.of(),
                PolicyRules.DEFAULT_MAX_CERTIFICATE_TTL, ChallengeLimits.DEFAULTS, TrusteeServices.none());
    }

    /** These settings with another store. */
    public ControlPlaneSettings withDatabase(DatabaseSettings db) {
        return new ControlPlaneSettings(dataDir, grpcBind, grpcPort, policyFile, trustDomain, caKey, serverNames,
                nodeKeyFile, nonceTtl, db, registrationFile, serviceAccountTokens, devMode,
                authzClientIdentities, maxCertificateTtl, challengeLimits, trustee);
    }

    /** These settings loading registrations from {@code file} at start. */
    public ControlPlaneSettings withRegistrationFile(Optional<Path> file) {
        return new ControlPlaneSettings(dataDir, grpcBind, grpcPort, policyFile, trustDomain, caKey, serverNames,
                nodeKeyFile, nonceTtl, database, file, serviceAccountTokens, devMode,
                authzClientIdentities, maxCertificateTtl, challengeLimits, trustee);
    }

    /** These settings verifying Kubernetes service-account tokens with {@code verifier}. */
    public ControlPlaneSettings withServiceAccountTokens(ServiceAccountTokenVerifier verifier) {
        return new ControlPlaneSettings(dataDir, grpcBind, grpcPort, policyFile, trustDomain, caKey, serverNames,
                nodeKeyFile, nonceTtl, database, registrationFile, verifier, devMode,
                authzClientIdentities, maxCertificateTtl, challengeLimits, trustee);
    }

    /** These settings in development mode ({@code true}: simulated-TEE nodes pass ext_authz) or not. */
    public ControlPlaneSettings withDevMode(boolean dev) {
        return new ControlPlaneSettings(dataDir, grpcBind, grpcPort, policyFile, trustDomain, caKey, serverNames,
                nodeKeyFile, nonceTtl, database, registrationFile, serviceAccountTokens, dev, authzClientIdentities,
                maxCertificateTtl, challengeLimits, trustee);
    }

    /** These settings letting operator-issued client certificates naming {@code ids} call ext_authz Check. */
    public ControlPlaneSettings withAuthzClientIdentities(Set<String> ids) {
        return new ControlPlaneSettings(dataDir, grpcBind, grpcPort, policyFile, trustDomain, caKey, serverNames,
                nodeKeyFile, nonceTtl, database, registrationFile, serviceAccountTokens, devMode, ids, maxCertificateTtl,
                challengeLimits, trustee);
    }

    /** These settings bounding policies' certificate TTL at {@code max}. */
    public ControlPlaneSettings withMaxCertificateTtl(Duration max) {
        return new ControlPlaneSettings(dataDir, grpcBind, grpcPort, policyFile, trustDomain, caKey, serverNames,
                nodeKeyFile, nonceTtl, database, registrationFile, serviceAccountTokens, devMode, authzClientIdentities,
                max, challengeLimits, trustee);
    }

    /**
     * The rules every written policy set must follow: dev mode, the certificate TTL bound, and trustee
     * policies naming a configured attestation service.
     */
    public PolicyRules policyRules() {
        return new PolicyRules(devMode, maxCertificateTtl, trustee.addresses());
    }

    /** These settings delegating {@code verifier: trustee} policies to {@code services} (docs/trustee.md). */
    public ControlPlaneSettings withTrustee(TrusteeServices services) {
        return new ControlPlaneSettings(dataDir, grpcBind, grpcPort, policyFile, trustDomain, caKey, serverNames,
                nodeKeyFile, nonceTtl, database, registrationFile, serviceAccountTokens, devMode, authzClientIdentities,
                maxCertificateTtl, challengeLimits, services);
    }

    /** These settings with other Challenge limits. */
    public ControlPlaneSettings withChallengeLimits(ChallengeLimits limits) {
        return new ControlPlaneSettings(dataDir, grpcBind, grpcPort, policyFile, trustDomain, caKey, serverNames,
                nodeKeyFile, nonceTtl, database, registrationFile, serviceAccountTokens, devMode, authzClientIdentities,
                maxCertificateTtl, limits, trustee);
    }

    public ControlPlaneSettings {
        serverNames = List.copyOf(serverNames);
        authzClientIdentities = CheckCallerAuthenticator.checkedClientIdentities(
                java.util.Objects.requireNonNull(authzClientIdentities, "authzClientIdentities"));
        java.util.Objects.requireNonNull(registrationFile, "registrationFile");
        java.util.Objects.requireNonNull(serviceAccountTokens, "serviceAccountTokens");
        new PolicyRules(devMode, java.util.Objects.requireNonNull(maxCertificateTtl, "maxCertificateTtl")); // bounds
        java.util.Objects.requireNonNull(challengeLimits, "challengeLimits");
        java.util.Objects.requireNonNull(trustee, "trustee");
        if (grpcPort < 0 || grpcPort > 65535) {
            throw new IllegalArgumentException("grpc port " + grpcPort + " is outside 0..65535");
        }
        if (!trustDomain.matches("[a-z0-9]([a-z0-9.-]{0,253}[a-z0-9])?")) {
            throw new IllegalArgumentException("trust domain '" + trustDomain
                    + "' must be a lower-case DNS name (letters, digits, dots, dashes)");
        }
        for (String id : authzClientIdentities) {
            if (!dev.attestmesh.ca.SpiffeId.parse(id).trustDomain().equals(trustDomain)) {
                throw new IllegalArgumentException("ext_authz client identity '" + id + "' is not in the mesh trust"
                        + " domain '" + trustDomain + "': this control plane's CA issues none such");
            }
        }
    }

    /**
     * Defaults for a data directory: loopback gRPC on a free port, trust domain {@code attestmesh.local},
     * dev mode (tests attest with the simulated TEE), and Challenge rate limits lifted (caps kept): tests
     * and load harnesses attest thousands of nodes a second from one loopback address. Tests of the limits
     * set their own with {@link #withChallengeLimits}.
     */
    public static ControlPlaneSettings forTests(Path dataDir, Optional<Path> policyFile) {
        return new ControlPlaneSettings(dataDir, "127.0.0.1", 0, policyFile, "attestmesh.local",
                Optional.of("test-ca-key-do-not-use-in-production"), List.of("localhost", "127.0.0.1"),
                "/var/run/attestmesh/key.pem", Duration.ofMinutes(2)).withDevMode(true)
                .withChallengeLimits(ChallengeLimits.DEFAULTS.withoutRateLimits());
    }
}
