package dev.attestmesh.quote.snp;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * Optional expectations a {@link SnpReportVerifier} enforces beyond the signature and chain, such as
 * the platform being a given product and stepping (go-sev-guest's product check).
 *
 * @param product the product the report must come from
 * @param stepping the CPU stepping the platform must have (from CPUID in v3+ reports, else from the
 *     VCEK's product name, e.g. "Milan-B0" is stepping 0)
 */
public record SnpVerifierOptions(Optional<SnpProduct> product, OptionalInt stepping) {
    public SnpVerifierOptions {
        Objects.requireNonNull(product, "product");
        Objects.requireNonNull(stepping, "stepping");
    }

    /** No expectations beyond a valid signature, chain and TCB binding. */
    public static SnpVerifierOptions none() {
        return new SnpVerifierOptions(Optional.empty(), OptionalInt.empty());
    }

    /** Requires {@code product} with CPU stepping {@code stepping}. */
    public static SnpVerifierOptions requireProduct(SnpProduct product, int stepping) {
        return new SnpVerifierOptions(Optional.of(product), OptionalInt.of(stepping));
    }
}
