package dev.attestmesh.quote;

import dev.attestmesh.quote.azure.AzureVtpmVerifier;
import dev.attestmesh.quote.collateral.CachingCollateralProvider;
import dev.attestmesh.quote.collateral.CollateralChanges;
import dev.attestmesh.quote.collateral.CollateralProvider;
import dev.attestmesh.quote.collateral.FileCollateralProvider;
import dev.attestmesh.quote.collateral.PcsCollateralProvider;
import dev.attestmesh.quote.intel.DcapQuoteVerifier;
import dev.attestmesh.quote.intel.DcapVerifierOptions;
import dev.attestmesh.quote.limits.FetchLimits;
import dev.attestmesh.quote.sim.SimulatedEvidenceVerifier;
import dev.attestmesh.quote.snp.AmdCertificateDecoder;
import dev.attestmesh.quote.snp.AmdCrlProvider;
import dev.attestmesh.quote.snp.CachingAmdCrlProvider;
import dev.attestmesh.quote.snp.FileAmdCrlProvider;
import dev.attestmesh.quote.snp.KdsAmdCrlProvider;
import dev.attestmesh.quote.snp.KdsVcekProvider;
import dev.attestmesh.quote.snp.RateLimitedVcekProvider;
import dev.attestmesh.quote.snp.SnpCurrentTcbFile;
import dev.attestmesh.quote.snp.SnpReportVerifier;
import dev.attestmesh.quote.snp.SnpVerifierOptions;
import dev.attestmesh.quote.snp.VcekProvider;
import dev.attestmesh.quote.trust.AmdTrustAnchors;
import dev.attestmesh.quote.trust.IntelTrustAnchors;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ForkJoinPool;

/**
 * The front door of quote-native: one builder that assembles the evidence verifiers from configuration
 * (trust anchors, Intel and AMD collateral sources, the simulator, Azure vTPM), used by the control plane
 * and by the CLI alike.
 *
 * <pre>{@code
 * EvidenceVerifiers v = Verifiers.builder()
 *         .intelRoot(Path.of("/etc/attestmesh/intel"))   // else downloaded from Intel, pinned
 *         .pccs(URI.create("https://pccs.example:8081"))  // or intelCollateralDir(dir)
 *         .cacheCollateral(true)                          // Caffeine caches, fetch limits, change events
 *         .amdRoots(Path.of("/etc/attestmesh/amd"))       // else AMD KDS
 *         .simulator(false)
 *         .build();
 * }</pre>
 *
 * <p>{@link Builder#build()} sets hardware verifiers up on first use (a control plane without Internet
 * access starts; only evidence of a type whose anchors cannot be loaded is refused, naming the setting);
 * {@link Builder#verifier(TeeType)} sets one up at once and reports a bad setting as a {@link
 * VerifierSetupException} (the CLI). Adding a TEE type means one package with its verifier and one case
 * in {@link Builder#create(TeeType)} (docs/evidence.md, "Adding a TEE type").
 */
public final class Verifiers {
    private static final Duration HTTP_TIMEOUT = Duration.ofSeconds(20);

    private Verifiers() {}

    public static Builder builder() {
        return new Builder();
    }

    /** Sets up the verifier of one TEE type. */
    @FunctionalInterface
    interface Setup {
        EvidenceVerifier create(TeeType tee) throws VerifierSetupException;
    }

    /** Configuration of the verifiers; not thread-safe, build once. */
    public static final class Builder {
        private Optional<Path> intelRoot = Optional.empty();
        private final List<X509Certificate> tcbSigning = new ArrayList<>();
        private Optional<CollateralProvider> intelCollateral = Optional.empty();
        private boolean cacheCollateral;
        private int minimumTcbEvaluationDataNumber = DcapVerifierOptions.RECOMMENDED_MINIMUM_TCB_EVALUATION_DATA_NUMBER;
        private long cacheMaxBytes = DcapVerifierOptions.DEFAULT_CACHE_MAX_BYTES;
        private FetchLimits fetchLimits = FetchLimits.defaults();
        private Optional<Path> amdRoots = Optional.empty();
        private boolean amdRootsWithVcek;
        private URI kds = AmdTrustAnchors.AMD_KDS;
        private boolean vcekFromKds = true;
        private Optional<Path> amdCrlDir = Optional.empty();
        private boolean amdCrlsFromKds;
        private Optional<Path> snpCurrentTcb = Optional.empty();
        private boolean simulator;
        private boolean azure = true;
        private String intelRootSetting = "the Intel root setting";
        private String amdRootsSetting = "the AMD roots setting";
        private Clock clock = Clock.systemUTC();
        private HttpClient http;
        private final CollateralChanges changes = new CollateralChanges();
        private java.util.function.Consumer<CachingCollateralProvider> intelCacheBuilt = c -> {};
        private java.util.function.Consumer<CachingAmdCrlProvider> amdCrlCacheBuilt = c -> {};

        private Builder() {}

        /** The Intel SGX Root CA: a DER/PEM file or a directory holding it (pinned); default: downloaded from Intel. */
        public Builder intelRoot(Path fileOrDirectory) {
            this.intelRoot = Optional.of(fileOrDirectory);
            return this;
        }

        /** Additional Intel TCB Signing certificates (still chained to the pinned root when used). */
        public Builder intelTcbSigning(List<X509Certificate> certificates) {
            tcbSigning.addAll(certificates);
            return this;
        }

        /** Intel collateral from a directory (tcbinfo-&lt;tee&gt;-&lt;FMSPC&gt;.json, qeidentity-&lt;tee&gt;.json, CRLs). */
        public Builder intelCollateralDir(Path directory) {
            return intelCollateral(new FileCollateralProvider(directory));
        }

        /** Intel collateral from a PCCS or Intel PCS (API v4). */
        public Builder pccs(URI base) {
            return intelCollateral(PcsCollateralProvider.pccs(base, http()));
        }

        /** Intel collateral from {@code provider}; default: none (collateral must come with each request). */
        public Builder intelCollateral(CollateralProvider provider) {
            this.intelCollateral = Optional.of(Objects.requireNonNull(provider, "provider"));
            return this;
        }

        /**
         * Caches fetched collateral (Intel: until nextUpdate, authenticated, bounded, rate-limited, changes
         * announced on {@link EvidenceVerifiers#collateralChanges()}; AMD CRLs likewise) and rate-limits
         * VCEK fetches: what a long-running control plane needs. Off by default (one-shot CLI use).
         */
        public Builder cacheCollateral(boolean on) {
            this.cacheCollateral = on;
            return this;
        }

        /** Floor, cache bound and fetch limits (docs/evidence.md, "Collateral freshness and cache bounds"). */
        public Builder collateralLimits(int minimumTcbEvaluationDataNumber, long cacheMaxBytes, FetchLimits limits) {
            new DcapVerifierOptions(minimumTcbEvaluationDataNumber, cacheMaxBytes); // checks the ranges
            this.minimumTcbEvaluationDataNumber = minimumTcbEvaluationDataNumber;
            this.cacheMaxBytes = cacheMaxBytes;
            this.fetchLimits = Objects.requireNonNull(limits, "limits");
            return this;
        }

        /** AMD ARK/ASK certificates from a directory (pinned); default: AMD KDS. */
        public Builder amdRoots(Path directory) {
            this.amdRoots = Optional.of(directory);
            return this;
        }

        /** ASK/ARK arrive with each request's VCEK (the ARK still pinned), instead of from a directory or KDS. */
        public Builder amdRootsWithVcek() {
            this.amdRootsWithVcek = true;
            return this;
        }

        /** AMD KDS base URL (ARK/ASK, VCEKs, CRLs); default {@link AmdTrustAnchors#AMD_KDS}. */
        public Builder kds(URI base) {
            this.kds = Objects.requireNonNull(base, "base");
            return this;
        }

        /** Whether VCEKs not sent with a request are fetched from KDS (default true). */
        public Builder vcekFromKds(boolean on) {
            this.vcekFromKds = on;
            return this;
        }

        /** Check SNP revocation with AMD CRLs from this directory ({@code crl-<Product>.der}). */
        public Builder amdCrlDir(Path directory) {
            this.amdCrlDir = Optional.of(directory);
            return this;
        }

        /** Check SNP revocation with AMD CRLs from KDS (when no CRL directory is given). */
        public Builder amdCrlsFromKds(boolean on) {
            this.amdCrlsFromKds = on;
            return this;
        }

        /** AMD's current TCB per product (JSON, docs/evidence.md); a report below it is OutOfDate. */
        public Builder snpCurrentTcb(Path file) {
            this.snpCurrentTcb = Optional.of(file);
            return this;
        }

        /** Registers the simulated TEE's verifier (its evidence proves nothing; policies must list sim). */
        /**
         * Called with each collateral cache when it is built (lazily, at a TEE type's first verification), so
         * that a caller can export what it holds; only with {@link #cacheCollateral(boolean) caching} on.
         */
        public Builder onCachesBuilt(java.util.function.Consumer<CachingCollateralProvider> intel,
                java.util.function.Consumer<CachingAmdCrlProvider> amdCrls) {
            this.intelCacheBuilt = Objects.requireNonNull(intel);
            this.amdCrlCacheBuilt = Objects.requireNonNull(amdCrls);
            return this;
        }

        public Builder simulator(boolean on) {
            this.simulator = on;
            return this;
        }

        /** Registers the Azure SEV-SNP vTPM verifier (on by default; it shares the SNP verifier). */
        public Builder azure(boolean on) {
            this.azure = on;
            return this;
        }

        /** Names of the settings that fix Intel and AMD anchors, for messages (e.g. a config key or CLI option). */
        public Builder settingNames(String intelRoot, String amdRoots) {
            this.intelRootSetting = intelRoot;
            this.amdRootsSetting = amdRoots;
            return this;
        }

        /** The clock the caches judge freshness by (tests). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** The HTTP client for Intel and AMD fetches; default one with a 20 s connect timeout. */
        public Builder http(HttpClient client) {
            this.http = Objects.requireNonNull(client, "client");
            return this;
        }

        /**
         * The configured verifiers: SGX, TDX, SEV-SNP (and Azure vTPM, and the simulator when asked), the
         * hardware ones set up on first use.
         */
        public EvidenceVerifiers build() {
            List<EvidenceVerifier> all = new ArrayList<>();
            if (simulator) {
                all.add(SimulatedEvidenceVerifier.withDefaultKey());
            }
            all.add(new LazyVerifier(TeeType.SGX, this::create));
            all.add(new LazyVerifier(TeeType.TDX, this::create));
            LazyVerifier snp = new LazyVerifier(TeeType.SNP, this::create);
            all.add(snp);
            if (azure) {
                // Azure vTPM evidence embeds an SNP report: checked by (and cached in) the same SNP verifier.
                all.add(AzureVtpmVerifier.create(snp));
            }
            return EvidenceVerifiers.of(all.toArray(EvidenceVerifier[]::new)).withCollateralChanges(changes);
        }

        /** The verifier of {@code tee}, set up now. */
        public EvidenceVerifier verifier(TeeType tee) throws VerifierSetupException {
            return create(tee);
        }

        private EvidenceVerifier create(TeeType tee) throws VerifierSetupException {
            return switch (tee) {
                case SGX, TDX -> {
                    IntelTrustAnchors anchors = intelAnchors();
                    yield DcapQuoteVerifier.create(tee, anchors, intelCollateral(anchors),
                            new DcapVerifierOptions(minimumTcbEvaluationDataNumber, cacheMaxBytes));
                }
                case SNP -> SnpReportVerifier.create(amdAnchors(), vcekProvider(), snpOptions(),
                        cacheCollateral ? cacheMaxBytes : SnpReportVerifier.DEFAULT_CACHE_MAX_BYTES);
                case AZ_SNP_VTPM -> AzureVtpmVerifier.create(create(TeeType.SNP));
                case SIM -> SimulatedEvidenceVerifier.withDefaultKey();
            };
        }

        private HttpClient http() {
            if (http == null) {
                http = HttpClient.newBuilder().connectTimeout(HTTP_TIMEOUT).build();
            }
            return http;
        }

        private IntelTrustAnchors intelAnchors() throws VerifierSetupException {
            IntelTrustAnchors anchors;
            try {
                if (intelRoot.isEmpty()) {
                    anchors = IntelTrustAnchors.fromUrl(IntelTrustAnchors.INTEL_ROOT_URL, http());
                } else if (Files.isDirectory(intelRoot.get())) {
                    anchors = IntelTrustAnchors.fromDirectory(intelRoot.get());
                } else {
                    anchors = IntelTrustAnchors.fromRootDer(AmdCertificateDecoder.decodeAll(
                            Files.readAllBytes(intelRoot.get())).getFirst().getEncoded());
                }
            } catch (Exception e) {
                throw new VerifierSetupException("cannot load the Intel SGX Root CA: " + e.getMessage() + " (configure "
                        + intelRootSetting + ")", e);
            }
            return tcbSigning.isEmpty() ? anchors : anchors.withTcbSigningCertificates(tcbSigning);
        }

        private CollateralProvider intelCollateral(IntelTrustAnchors anchors) {
            CollateralProvider source = intelCollateral.orElse(CollateralProvider.none());
            if (!cacheCollateral || intelCollateral.isEmpty()) {
                return source;
            }
            CachingCollateralProvider cache = new CachingCollateralProvider(source, anchors, cacheMaxBytes, fetchLimits,
                    clock, ForkJoinPool.commonPool(), Optional.of(changes));
            intelCacheBuilt.accept(cache);
            return cache;
        }

        private AmdTrustAnchors amdAnchors() throws VerifierSetupException {
            try {
                if (amdRoots.isPresent()) {
                    return AmdTrustAnchors.fromDirectory(amdRoots.get());
                }
                if (amdRootsWithVcek) {
                    return AmdTrustAnchors.fromCertificates(List.of()); // ASK/ARK come with the VCEK, ARK pinned
                }
                return AmdTrustAnchors.fromKds(http(), kds, HTTP_TIMEOUT);
            } catch (Exception e) {
                throw new VerifierSetupException("cannot load AMD trust anchors: " + e.getMessage() + " (configure "
                        + amdRootsSetting + ")", e);
            }
        }

        private VcekProvider vcekProvider() {
            if (!vcekFromKds) {
                return VcekProvider.none();
            }
            VcekProvider kdsVceks = KdsVcekProvider.create(http(), kds, HTTP_TIMEOUT);
            return cacheCollateral ? RateLimitedVcekProvider.create(kdsVceks, fetchLimits, System::nanoTime) : kdsVceks;
        }

        private SnpVerifierOptions snpOptions() throws VerifierSetupException {
            SnpVerifierOptions options = SnpVerifierOptions.none();
            Optional<AmdCrlProvider> crls = amdCrlDir.<AmdCrlProvider>map(FileAmdCrlProvider::new)
                    .or(() -> amdCrlsFromKds ? Optional.of(KdsAmdCrlProvider.create(http(), kds, HTTP_TIMEOUT))
                            : Optional.empty());
            if (crls.isPresent()) {
                if (cacheCollateral) {
                    CachingAmdCrlProvider cache = new CachingAmdCrlProvider(crls.get(), fetchLimits, clock,
                            System::nanoTime, Optional.of(changes));
                    amdCrlCacheBuilt.accept(cache);
                    options = options.withCrls(cache);
                } else {
                    options = options.withCrls(crls.get());
                }
            }
            if (snpCurrentTcb.isPresent()) {
                Path f = snpCurrentTcb.get();
                try {
                    // With caching (a long-running control plane) the file is read again on each refresh.
                    options = options.withCurrentTcb(SnpCurrentTcbFile.load(f,
                            cacheCollateral ? Optional.of(changes) : Optional.empty()));
                } catch (java.io.IOException | IllegalArgumentException e) {
                    throw new VerifierSetupException("cannot read the SNP current TCB " + f + ": " + e.getMessage(), e);
                }
            }
            return options;
        }
    }
}
