package dev.attestmesh.server.app;

import dev.attestmesh.quote.limits.FetchLimits;
import dev.attestmesh.authz.CheckCallerAuthenticator;
import dev.attestmesh.server.ControlPlane;
import dev.attestmesh.server.ControlPlaneSettings;
import dev.attestmesh.server.EvidenceVerifierSet;
import dev.attestmesh.server.admin.metrics.CollateralExpiryMetrics;
import dev.attestmesh.server.admin.metrics.NodeCertificateExpiryMetrics;
import dev.attestmesh.server.ca.CaKeySource;
import dev.attestmesh.server.seed.DocumentFileModes;
import dev.attestmesh.server.seed.FileMode;
import dev.attestmesh.server.store.DatabaseSettings;
import dev.attestmesh.server.watch.RegistryWatchSettings;
import io.micronaut.context.annotation.Bean;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Factory;
import io.micronaut.context.annotation.Value;
import io.micronaut.context.env.Environment;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;

/**
 * Creates the {@link ControlPlane} as a Micronaut-managed bean from configuration. gRPC is served by
 * gRPC-java's own Netty server inside the bean rather than by micronaut-grpc (see
 * docs/architecture.md).
 */
@Factory
public class ControlPlaneFactory {

    private static Optional<Path> optionalPath(String s) {
        return s.isBlank() ? Optional.empty() : Optional.of(Path.of(s));
    }

    /**
     * {@code attestmesh.ca-sealing}: {@code auto} (default) seals a new CA to the TEE's sealing key when the TEE
     * offers one; {@code operator} always uses the operator key (docs/relying-party.md, "Sealing").
     */
    static CaKeySource caKeySource(String setting) {
        return switch (setting.strip()) {
            case "auto" -> CaKeySource.system();
            case "operator" -> CaKeySource.none();
            default -> throw new IllegalArgumentException("attestmesh.ca-sealing must be auto or operator, got '"
                    + dev.attestmesh.input.UntrustedText.forLog(setting, 40) + "'");
        };
    }

    @Context
    @Bean(preDestroy = "close")
    ControlPlane controlPlane(
            @Value("${attestmesh.data-dir}") String dataDir,
            @Value("${attestmesh.grpc-bind}") String grpcBind,
            @Value("${attestmesh.grpc-port}") int grpcPort,
            @Value("${attestmesh.policy-file:}") String policyFile,
            @Value("${attestmesh.registration-file:}") String registrationFile,
            @Value("${attestmesh.trust-domain}") String trustDomain,
            @Value("${attestmesh.ca-key:}") String caKey,
            @Value("${attestmesh.ca-key-file:}") String caKeyFile,
            @Value("${attestmesh.server-names}") String serverNames,
            @Value("${attestmesh.node-key-file}") String nodeKeyFile,
            @Value("${attestmesh.nonce-ttl}") Duration nonceTtl,
            @Value("${attestmesh.intel.root:}") String intelRoot,
            @Value("${attestmesh.intel.collateral-dir:}") String intelCollateralDir,
            @Value("${attestmesh.intel.pcs-url:https://api.trustedservices.intel.com}") String pcsUrl,
            @Value("${attestmesh.amd.roots-dir:}") String amdRoots,
            @Value("${attestmesh.amd.kds-url:https://kdsintf.amd.com}") String kdsUrl,
            @Value("${attestmesh.collateral.min-tcb-evaluation-data-number:17}") int minTcbEvaluationDataNumber,
            @Value("${attestmesh.collateral.cache-max-bytes:67108864}") long collateralCacheMaxBytes,
            @Value("${attestmesh.collateral.fetch-rate:5}") double collateralFetchRate,
            @Value("${attestmesh.collateral.fetch-burst:20}") int collateralFetchBurst,
            @Value("${attestmesh.collateral.fetch-failure-ttl:30s}") Duration collateralFetchFailureTtl,
            @Value("${attestmesh.database.url:}") String databaseUrl,
            @Value("${attestmesh.database.user:}") String databaseUser,
            @Value("${attestmesh.database.password:}") String databasePassword,
            @Value("${attestmesh.database.max-staleness:30s}") Duration databaseMaxStaleness,
            @Value("${attestmesh.mesh-file:}") String meshFile,
            @Value("${attestmesh.policy-file-mode:seed}") String policyFileMode,
            @Value("${attestmesh.registration-file-mode:seed}") String registrationFileMode,
            @Value("${attestmesh.mesh-file-mode:seed}") String meshFileMode,
            @Value("${attestmesh.authz.replica-identities:}") String replicaIdentities,
            @Value("${attestmesh.authz.watch-heartbeat:5s}") Duration watchHeartbeat,
            @Value("${attestmesh.authz.client-identities:}") String authzClientIdentities,
            @Value("${attestmesh.dev-mode:false}") boolean devMode,
            @Value("${attestmesh.max-certificate-ttl:24h}") Duration maxCertificateTtl,
            @Value("${attestmesh.kubernetes.issuer:}") String k8sIssuer,
            @Value("${attestmesh.kubernetes.audience:attestmesh}") String k8sAudience,
            @Value("${attestmesh.kubernetes.jwks-file:}") String k8sJwksFile,
            @Value("${attestmesh.kubernetes.jwks-url:}") String k8sJwksUrl,
            @Value("${attestmesh.kubernetes.oidc-discovery:false}") boolean k8sOidcDiscovery,
            @Value("${attestmesh.kubernetes.public-key-file:}") String k8sPublicKeyFile,
            @Value("${attestmesh.kubernetes.token-review-url:}") String k8sTokenReviewUrl,
            @Value("${attestmesh.kubernetes.ca-file:}") String k8sCaFile,
            @Value("${attestmesh.kubernetes.bearer-token-file:}") String k8sBearerTokenFile,
            @Value("${attestmesh.kubernetes.clock-skew:30s}") Duration k8sClockSkew,
            @Value("${attestmesh.ca-sealing:auto}") String caSealing,
            @Value("${attestmesh.metrics.node-certificate-series:100}") int nodeCertificateSeries,
            Environment environment, Clock clock) {
        if (caKey.isBlank() && !caKeyFile.isBlank()) {
            try {
                caKey = Files.readString(Path.of(caKeyFile), StandardCharsets.UTF_8).strip();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the CA encryption key file " + caKeyFile, e);
            }
        }
        ControlPlaneSettings settings = new ControlPlaneSettings(Path.of(dataDir), grpcBind, grpcPort,
                policyFile.isBlank() ? Optional.empty() : Optional.of(Path.of(policyFile)), trustDomain,
                caKey.isBlank() ? Optional.empty() : Optional.of(caKey),
                Arrays.stream(serverNames.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList(),
                nodeKeyFile, nonceTtl).withDatabase(DatabaseSettings.of(databaseUrl, databaseUser, databasePassword)
                        .withMaxStaleness(databaseMaxStaleness))
                .withRegistrationFile(optionalPath(registrationFile))
                .withServiceAccountTokens(new KubernetesTokenConfig(k8sIssuer, k8sAudience, k8sJwksFile, k8sJwksUrl,
                        k8sOidcDiscovery, k8sPublicKeyFile, k8sTokenReviewUrl, k8sCaFile, k8sBearerTokenFile,
                        k8sClockSkew).verifier())
                .withDevMode(devMode)
                .withMaxCertificateTtl(maxCertificateTtl)
                .withAuthzClientIdentities(CheckCallerAuthenticator.parseClientIdentities(authzClientIdentities))
                .withChallengeLimits(ChallengeLimitsConfig.from(environment))
                .withTrustee(TrusteeConfig.from(environment));
        try {
            EvidenceVerifierSet.Sources sources = new EvidenceVerifierSet.Sources(optionalPath(intelRoot),
                    optionalPath(intelCollateralDir), URI.create(pcsUrl), optionalPath(amdRoots), URI.create(kdsUrl));
            EvidenceVerifierSet.CollateralSettings collateral = new EvidenceVerifierSet.CollateralSettings(
                    minTcbEvaluationDataNumber, collateralCacheMaxBytes,
                    new FetchLimits(collateralFetchRate, collateralFetchBurst, collateralFetchFailureTtl));
            NodeCertificateExpiryMetrics.requireValidMaxSeries(nodeCertificateSeries); // before anything starts
            CollateralExpiryMetrics collateralExpiry = new CollateralExpiryMetrics(clock);
            ControlPlane cp = ControlPlane.start(settings, clock, EvidenceVerifierSet.from(sources, collateral,
                            collateralExpiry),
                    meshFile.isBlank() ? Optional.empty() : Optional.of(Path.of(meshFile)),
                    new RegistryWatchSettings(RegistryWatchSettings.parseIdentities(replicaIdentities), watchHeartbeat),
                    RotationConfig.from(environment),
                    new DocumentFileModes(FileMode.parse("attestmesh.policy-file-mode", policyFileMode),
                            FileMode.parse("attestmesh.registration-file-mode", registrationFileMode),
                            FileMode.parse("attestmesh.mesh-file-mode", meshFileMode)), caKeySource(caSealing));
            collateralExpiry.registerMetrics(cp.meshMetrics().registry());
            cp.meshMetrics().nodeCertificates().maxSeries(nodeCertificateSeries);
            return cp;
        } catch (IOException e) {
            throw new UncheckedIOException("control plane failed to start: " + e.getMessage(), e);
        }
    }
}
