package dev.attestmesh.quote.snp;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.function.Supplier;

/**
 * Optional expectations a {@link SnpReportVerifier} enforces beyond the signature and chain, such as
 * the platform being a given product and stepping (go-sev-guest's product check), AMD's CRLs, and the
 * current TCB per product that decides the TCB status.
 *
 * @param product the product the report must come from
 * @param stepping the CPU stepping the platform must have (from CPUID in v3+ reports, else from the
 *     VCEK's product name, e.g. "Milan-B0" is stepping 0)
 * @param crls where AMD's ARK-signed CRLs come from; {@link AmdCrlProvider#none()} skips revocation
 * @param currentTcb per product, the newest TCB AMD has released (from its security bulletins); a
 *     report whose reported or committed TCB is below it in any component is {@code OutOfDate}. A
 *     product without an entry is {@code UpToDate} once every check passed. Read at every verification
 *     and re-appraisal, so a reloaded statement ({@link SnpCurrentTcbFile}) applies at once
 */
public record SnpVerifierOptions(Optional<SnpProduct> product, OptionalInt stepping, AmdCrlProvider crls,
        Supplier<Map<SnpProduct, SnpTcb>> currentTcb) {
    public SnpVerifierOptions {
        Objects.requireNonNull(product, "product");
        Objects.requireNonNull(stepping, "stepping");
        Objects.requireNonNull(crls, "crls");
        Objects.requireNonNull(currentTcb, "currentTcb");
    }

    /** No expectations beyond a valid signature, chain and TCB binding. */
    public static SnpVerifierOptions none() {
        return new SnpVerifierOptions(Optional.empty(), OptionalInt.empty(), AmdCrlProvider.none(), Map::of);
    }

    /** Requires {@code product} with CPU stepping {@code stepping}. */
    public static SnpVerifierOptions requireProduct(SnpProduct product, int stepping) {
        return new SnpVerifierOptions(Optional.of(product), OptionalInt.of(stepping), AmdCrlProvider.none(), Map::of);
    }

    /** These options, checking revocation with CRLs from {@code provider}. */
    public SnpVerifierOptions withCrls(AmdCrlProvider provider) {
        return new SnpVerifierOptions(product, stepping, provider, currentTcb);
    }

    /** These options, judging TCB status against {@code current} (per product). */
    public SnpVerifierOptions withCurrentTcb(Map<SnpProduct, SnpTcb> current) {
        Map<SnpProduct, SnpTcb> fixed = Map.copyOf(current);
        return withCurrentTcb(() -> fixed);
    }

    /** These options, judging TCB status against what {@code current} gives at each verification. */
    public SnpVerifierOptions withCurrentTcb(Supplier<Map<SnpProduct, SnpTcb>> current) {
        return new SnpVerifierOptions(product, stepping, crls, current);
    }
}
