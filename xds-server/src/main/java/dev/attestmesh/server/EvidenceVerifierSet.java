package dev.attestmesh.server;

import dev.attestmesh.quote.EvidenceVerificationException;
import dev.attestmesh.quote.EvidenceVerifier;
import dev.attestmesh.quote.EvidenceVerifiers;
import dev.attestmesh.quote.TeeType;
import dev.attestmesh.quote.VerificationCheck;
import dev.attestmesh.quote.VerificationRequest;
import dev.attestmesh.quote.VerifiedEvidence;
import dev.attestmesh.quote.azure.AzureVtpmVerifier;
import dev.attestmesh.quote.collateral.CachingCollateralProvider;
import dev.attestmesh.quote.collateral.CollateralProvider;
import dev.attestmesh.quote.collateral.FileCollateralProvider;
import dev.attestmesh.quote.collateral.PcsCollateralProvider;
import dev.attestmesh.quote.intel.DcapQuoteVerifier;
import dev.attestmesh.quote.intel.DcapVerifierOptions;
import dev.attestmesh.quote.limits.FetchLimits;
import dev.attestmesh.quote.sim.SimulatedEvidenceVerifier;
import dev.attestmesh.quote.snp.AmdCrlProvider;
import dev.attestmesh.quote.snp.CachingAmdCrlProvider;
import dev.attestmesh.server.admin.metrics.CollateralExpiryMetrics;
import dev.attestmesh.quote.snp.FileAmdCrlProvider;
import dev.attestmesh.quote.snp.KdsAmdCrlProvider;
import dev.attestmesh.quote.snp.KdsVcekProvider;
import dev.attestmesh.quote.snp.SnpCurrentTcb;
import dev.attestmesh.quote.snp.RateLimitedVcekProvider;
import dev.attestmesh.quote.snp.SnpReportVerifier;
import dev.attestmesh.quote.snp.SnpVerifierOptions;
import dev.attestmesh.quote.trust.AmdTrustAnchors;
import dev.attestmesh.quote.trust.IntelTrustAnchors;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The evidence verifiers a control plane registers. The simulator's verifier is always present; whether
 * its evidence is accepted is decided by policy (only policies that list {@code sim} accept it). SGX and
 * TDX need the Intel SGX Root CA (a configured file or directory, else downloaded from Intel and checked
 * against the pinned fingerprint); SEV-SNP uses configured AMD roots or AMD KDS. A TEE type whose trust
 * anchors cannot be loaded is disabled with a warning, and its evidence is refused with a message that
 * says so, rather than keeping the control plane from starting.
 */
public final class EvidenceVerifierSet {
    private static final Logger LOG = LoggerFactory.getLogger(EvidenceVerifierSet.class);
    private static final Duration HTTP_TIMEOUT = Duration.ofSeconds(20);

    /**
     * Where trust anchors and collateral come from.
     *
     * @param intelRoot Intel SGX Root CA file or directory; empty to download it from Intel
     * @param intelCollateralDir local collateral directory; when empty, collateral comes from {@code pcsUrl}
     * @param pcsUrl Intel PCS or a PCCS base URL (API v4)
     * @param amdRoots directory with AMD ARK/ASK certificates; empty to fetch them from {@code kdsUrl}
     * @param kdsUrl AMD KDS base URL, also used for VCEKs
     */
    public record Sources(Optional<Path> intelRoot, Optional<Path> intelCollateralDir, URI pcsUrl,
            Optional<Path> amdRoots, URI kdsUrl) {
        public static Sources vendorDefaults() {
            return new Sources(Optional.empty(), Optional.empty(), PcsCollateralProvider.INTEL_PCS, Optional.empty(),
                    AmdTrustAnchors.AMD_KDS);
        }
    }

    /**
     * How old collateral may be and how much the verifiers may hold and fetch (docs/evidence.md,
     * "Collateral freshness and cache bounds").
     *
     * @param minimumTcbEvaluationDataNumber TCB Info / QE Identity below it are refused (0: none)
     * @param cacheMaxBytes bound on each verifier's caches and on the Intel collateral cache
     * @param fetchLimits rate, burst and failure memory of Intel PCS/PCCS and AMD KDS fetches
     */
    public record CollateralSettings(int minimumTcbEvaluationDataNumber, long cacheMaxBytes, FetchLimits fetchLimits) {
        public CollateralSettings {
            // Checked here so a bad setting stops the server at start, naming the setting.
            new DcapVerifierOptions(minimumTcbEvaluationDataNumber, cacheMaxBytes);
            java.util.Objects.requireNonNull(fetchLimits, "fetchLimits");
        }

        /** Minimum 17, 64 MiB, 5 fetches per second with bursts of 20, failures remembered for 30 s. */
        public static CollateralSettings defaults() {
            return new CollateralSettings(DcapVerifierOptions.RECOMMENDED_MINIMUM_TCB_EVALUATION_DATA_NUMBER,
                    DcapVerifierOptions.DEFAULT_CACHE_MAX_BYTES, FetchLimits.defaults());
        }
    }

    private EvidenceVerifierSet() {}

    /** Only the simulator (tests and the demo). */
    public static EvidenceVerifiers defaults() {
        return EvidenceVerifiers.of(SimulatedEvidenceVerifier.withDefaultKey());
    }

    /**
     * The simulator plus SGX, TDX, SEV-SNP and Azure SEV-SNP vTPM verifiers built from {@code sources}. Hardware verifiers
     * are set up on first use (so a control plane without Internet access starts, and only evidence of
     * a type whose anchors cannot be loaded is refused, naming the reason); a failed setup is retried
     * after a minute.
     */
    public static EvidenceVerifiers from(Sources sources) {
        return from(sources, CollateralSettings.defaults());
    }

    /** As {@link #from(Sources)}, with the collateral floor, cache bounds and fetch limits of {@code collateral}. */
    public static EvidenceVerifiers from(Sources sources, CollateralSettings collateral) {
        return from(sources, collateral, new CollateralExpiryMetrics(java.time.Clock.systemUTC()));
    }

    /**
     * As {@link #from(Sources, CollateralSettings)}; each collateral cache, when built, registers with {@code expiry}
     * so that the time left to its items' nextUpdate is exported.
     */
    public static EvidenceVerifiers from(Sources sources, CollateralSettings collateral, CollateralExpiryMetrics expiry) {
        HttpClient http = HttpClient.newBuilder().connectTimeout(HTTP_TIMEOUT).build();
        LazyVerifier.Factory intelSetup = tee -> {
            IntelTrustAnchors anchors = intelAnchors(sources, http);
            CachingCollateralProvider cache = intelCollateral(sources, http, anchors, collateral);
            expiry.watch(cache::earliestNextUpdates);
            return DcapQuoteVerifier.create(tee, anchors, cache,
                    new DcapVerifierOptions(collateral.minimumTcbEvaluationDataNumber(), collateral.cacheMaxBytes()));
        };
        LazyVerifier snp = new LazyVerifier(TeeType.SNP, tee -> SnpReportVerifier.create(
                sources.amdRoots().isPresent() ? AmdTrustAnchors.fromDirectory(sources.amdRoots().get())
                        : AmdTrustAnchors.fromKds(http, sources.kdsUrl(), HTTP_TIMEOUT),
                RateLimitedVcekProvider.create(KdsVcekProvider.create(http, sources.kdsUrl(), HTTP_TIMEOUT),
                        collateral.fetchLimits(), System::nanoTime),
                amdOptions(sources, http, collateral, expiry), collateral.cacheMaxBytes()),
                "configure attestmesh.amd.roots-dir");
        return EvidenceVerifiers.of(SimulatedEvidenceVerifier.withDefaultKey(),
                new LazyVerifier(TeeType.SGX, intelSetup, "configure attestmesh.intel.root"),
                new LazyVerifier(TeeType.TDX, intelSetup, "configure attestmesh.intel.root"),
                snp,
                // Azure vTPM evidence embeds an SNP report: checked by (and cached in) the same SNP verifier.
                AzureVtpmVerifier.create(snp));
    }

    /**
     * AMD CRLs (checked always: from {@code crl-<Product>.der} files in the AMD roots directory when it
     * holds any, else from KDS; cached until nextUpdate and rate-limited) and the current TCB per
     * product from {@code current-tcb.json} in that directory, when present.
     */
    private static SnpVerifierOptions amdOptions(Sources s, HttpClient http, CollateralSettings collateral,
            CollateralExpiryMetrics expiry) throws java.io.IOException {
        boolean crlFiles = false;
        if (s.amdRoots().isPresent()) {
            try (var files = Files.list(s.amdRoots().get())) {
                crlFiles = files.anyMatch(f -> f.getFileName().toString().startsWith("crl-"));
            }
        }
        AmdCrlProvider source = crlFiles ? new FileAmdCrlProvider(s.amdRoots().get())
                : KdsAmdCrlProvider.create(http, s.kdsUrl(), HTTP_TIMEOUT);
        CachingAmdCrlProvider crls = new CachingAmdCrlProvider(source, collateral.fetchLimits(),
                java.time.Clock.systemUTC(), System::nanoTime);
        expiry.watchAmdCrls(crls::earliestNextUpdate);
        SnpVerifierOptions options = SnpVerifierOptions.none().withCrls(crls);
        if (s.amdRoots().isPresent() && Files.isRegularFile(s.amdRoots().get().resolve("current-tcb.json"))) {
            Path f = s.amdRoots().get().resolve("current-tcb.json");
            options = options.withCurrentTcb(SnpCurrentTcb.parse(Files.readAllBytes(f), f.toString()));
        }
        return options;
    }

    private static CachingCollateralProvider intelCollateral(Sources s, HttpClient http, IntelTrustAnchors anchors,
            CollateralSettings collateral) {
        return new CachingCollateralProvider(s.intelCollateralDir().<CollateralProvider>map(FileCollateralProvider::new)
                .orElseGet(() -> PcsCollateralProvider.pccs(s.pcsUrl(), http)), anchors, collateral.cacheMaxBytes(),
                collateral.fetchLimits(), java.time.Clock.systemUTC(), java.util.concurrent.ForkJoinPool.commonPool());
    }

    /** Builds its verifier on first use; a failed build is reported as the evidence's rejection. */
    static final class LazyVerifier implements EvidenceVerifier {
        interface Factory {
            EvidenceVerifier create(TeeType tee) throws Exception;
        }

        private static final Duration RETRY_AFTER = Duration.ofMinutes(1);
        private final TeeType tee;
        private final Factory factory;
        private final String hint;
        private volatile EvidenceVerifier delegate;
        private volatile long failedAtNanos;
        private volatile String failure = "";

        LazyVerifier(TeeType tee, Factory factory, String hint) {
            this.tee = tee;
            this.factory = factory;
            this.hint = hint;
        }

        @Override
        public TeeType tee() {
            return tee;
        }

        @Override
        public VerifiedEvidence verify(VerificationRequest request) throws EvidenceVerificationException {
            EvidenceVerifier v = delegate;
            if (v == null) {
                v = build();
            }
            return v.verify(request);
        }

        private synchronized EvidenceVerifier build() throws EvidenceVerificationException {
            if (delegate != null) {
                return delegate;
            }
            if (!failure.isEmpty() && System.nanoTime() - failedAtNanos < RETRY_AFTER.toNanos()) {
                throw unavailable();
            }
            try {
                delegate = factory.create(tee);
                LOG.info("{} verification enabled", tee.wireName());
                return delegate;
            } catch (Exception e) {
                failure = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
                failedAtNanos = System.nanoTime();
                LOG.warn("{} verification unavailable: {} ({})", tee.wireName(), failure, hint);
                throw unavailable();
            }
        }

        private EvidenceVerificationException unavailable() {
            return new EvidenceVerificationException(VerificationCheck.TRUST_ANCHOR, tee.wireName()
                    + " verification is unavailable on this control plane: " + failure + " (" + hint + ")");
        }
    }

    private static IntelTrustAnchors intelAnchors(Sources s, HttpClient http) throws Exception {
        if (s.intelRoot().isEmpty()) {
            return IntelTrustAnchors.fromUrl(IntelTrustAnchors.INTEL_ROOT_URL, http);
        }
        Path p = s.intelRoot().get();
        return Files.isDirectory(p) ? IntelTrustAnchors.fromDirectory(p)
                : IntelTrustAnchors.fromRootDer(Files.readAllBytes(p));
    }
}
