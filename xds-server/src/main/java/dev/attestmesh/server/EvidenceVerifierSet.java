package dev.attestmesh.server;

import dev.attestmesh.quote.EvidenceVerifiers;
import dev.attestmesh.quote.Verifiers;
import dev.attestmesh.quote.collateral.PcsCollateralProvider;
import dev.attestmesh.quote.intel.DcapVerifierOptions;
import dev.attestmesh.quote.limits.FetchLimits;
import dev.attestmesh.quote.sim.SimulatedEvidenceVerifier;
import dev.attestmesh.quote.trust.AmdTrustAnchors;
import dev.attestmesh.server.admin.metrics.CollateralExpiryMetrics;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The evidence verifiers a control plane registers, assembled by quote-native's front door ({@link
 * Verifiers#builder()}) from the server's settings. The simulator's verifier is always present; whether
 * its evidence is accepted is decided by policy (only policies that list {@code sim} accept it). SGX and
 * TDX need the Intel SGX Root CA (a configured file or directory, else downloaded from Intel and checked
 * against the pinned fingerprint); SEV-SNP uses configured AMD roots or AMD KDS. A TEE type whose trust
 * anchors cannot be loaded is disabled with a warning, and its evidence is refused with a message that
 * says so, rather than keeping the control plane from starting.
 */
public final class EvidenceVerifierSet {
    private static final Logger LOG = LoggerFactory.getLogger(EvidenceVerifierSet.class);

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
        Verifiers.Builder b = Verifiers.builder()
                .simulator(true)
                .cacheCollateral(true)
                .collateralLimits(collateral.minimumTcbEvaluationDataNumber(), collateral.cacheMaxBytes(),
                        collateral.fetchLimits())
                .settingNames("attestmesh.intel.root", "attestmesh.amd.roots-dir")
                .kds(sources.kdsUrl())
                .onCachesBuilt(cache -> expiry.watch(cache::earliestNextUpdates),
                        crls -> expiry.watchAmdCrls(crls::earliestNextUpdate));
        sources.intelRoot().ifPresent(b::intelRoot);
        if (sources.intelCollateralDir().isPresent()) {
            b.intelCollateralDir(sources.intelCollateralDir().get());
        } else {
            b.pccs(sources.pcsUrl());
        }
        sources.amdRoots().ifPresent(b::amdRoots);
        amdRevocation(sources.amdRoots(), b);
        return b.build();
    }

    /**
     * AMD CRLs are checked always: from {@code crl-<Product>.der} files in the AMD roots directory when it
     * holds any, else from KDS; the current TCB per product comes from {@code current-tcb.json} in that
     * directory, when present.
     */
    private static void amdRevocation(Optional<Path> roots, Verifiers.Builder b) {
        boolean crlFiles = false;
        if (roots.isPresent()) {
            try (var files = Files.list(roots.get())) {
                crlFiles = files.anyMatch(f -> f.getFileName().toString().startsWith("crl-"));
            } catch (java.io.IOException e) {
                LOG.warn("cannot list the AMD roots directory {}: {}", roots.get(), e.toString());
            }
        }
        if (crlFiles) {
            b.amdCrlDir(roots.get());
        } else {
            b.amdCrlsFromKds(true);
        }
        if (roots.isPresent() && Files.isRegularFile(roots.get().resolve("current-tcb.json"))) {
            b.snpCurrentTcb(roots.get().resolve("current-tcb.json"));
        }
    }
}
