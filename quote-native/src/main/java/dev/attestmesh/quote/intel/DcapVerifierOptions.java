package dev.attestmesh.quote.intel;

/**
 * Settings of a {@link DcapQuoteVerifier} beyond its trust anchors and collateral provider.
 *
 * @param minimumTcbEvaluationDataNumber TCB Info and QE Identity whose {@code tcbEvaluationDataNumber}
 *     is lower are refused, whether supplied with the request or by the provider (0: no minimum). It
 *     is the floor for supplied collateral when the provider has nothing to compare with, and the way
 *     to retire collateral from before an Intel TCB recovery everywhere at once.
 * @param cacheMaxBytes bound on the estimated bytes the verifier's caches hold together (verified
 *     attestation keys, PCK chains, supplied collateral, verified collateral); at least 1 MiB
 */
public record DcapVerifierOptions(int minimumTcbEvaluationDataNumber, long cacheMaxBytes) {
    /**
     * The minimum the control plane applies unless configured otherwise: 17, Intel's TCB recovery of
     * 2024-03-12. It is the oldest number in the TCB evaluation data number lists among the test vectors
     * (Automata's {@code sgxtcbeval.json}, issued 2025-08-15, lists 17 to 20; the TDX list issued
     * 2025-06-05 lists 17 to 19), and every 2025 collateral document there carries 17 or more. Raise it
     * after each Intel TCB recovery once the fleet has updated.
     */
    public static final int RECOMMENDED_MINIMUM_TCB_EVALUATION_DATA_NUMBER = 17;
    /** Default bound on the verifier's caches: 64 MiB. */
    public static final long DEFAULT_CACHE_MAX_BYTES = 64L << 20;

    public DcapVerifierOptions {
        if (minimumTcbEvaluationDataNumber < 0 || minimumTcbEvaluationDataNumber > 10_000) {
            throw new IllegalArgumentException("the minimum TCB evaluation data number must be 0 to 10000, not "
                    + minimumTcbEvaluationDataNumber);
        }
        if (cacheMaxBytes < 1L << 20) {
            throw new IllegalArgumentException("the DCAP verifier's caches need at least 1 MiB, not " + cacheMaxBytes
                    + " bytes");
        }
    }

    /**
     * No minimum evaluation number (the provider's collateral is still a floor for supplied collateral)
     * and a 64 MiB cache bound: what a library caller verifying historical evidence needs. The control
     * plane passes {@link #RECOMMENDED_MINIMUM_TCB_EVALUATION_DATA_NUMBER} unless configured otherwise.
     */
    public static DcapVerifierOptions defaults() {
        return new DcapVerifierOptions(0, DEFAULT_CACHE_MAX_BYTES);
    }

    /** These options with another minimum evaluation number. */
    public DcapVerifierOptions withMinimumTcbEvaluationDataNumber(int minimum) {
        return new DcapVerifierOptions(minimum, cacheMaxBytes);
    }
}
