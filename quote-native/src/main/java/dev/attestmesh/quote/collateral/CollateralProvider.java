package dev.attestmesh.quote.collateral;

import dev.attestmesh.quote.TeeType;
import java.security.cert.X509Certificate;

/**
 * A source of Intel DCAP collateral. Implementations return collateral as delivered (exact signed
 * bytes); they do not verify it: {@code DcapQuoteVerifier} does. Implementations are thread-safe.
 */
public interface CollateralProvider {

    /** TCB Info for {@code tee} (SGX or TDX) and the platform's FMSPC (hex, any case). */
    SignedCollateral tcbInfo(TeeType tee, String fmspc) throws CollateralUnavailableException;

    /** QE Identity: the SGX QE for {@link TeeType#SGX}, the TD QE for {@link TeeType#TDX}. */
    SignedCollateral qeIdentity(TeeType tee) throws CollateralUnavailableException;

    /** The CRL of the given PCK CA. */
    PckCrl pckCrl(PckCa ca) throws CollateralUnavailableException;

    /** The Intel SGX Root CA CRL. */
    RootCaCrl rootCaCrl() throws CollateralUnavailableException;

    /**
     * The CRL of the given PCK CA, when the caller holds that CA's certificate from a PCK chain it has
     * verified to the pinned root: a provider that authenticates what it caches can then check a CRL
     * delivered without its issuer chain. Providers that do not authenticate ignore it.
     */
    default PckCrl pckCrl(PckCa ca, X509Certificate verifiedCa) throws CollateralUnavailableException {
        return pckCrl(ca);
    }

    /** Everything needed for one quote. */
    default QuoteCollateral collateral(TeeType tee, String fmspc, PckCa ca) throws CollateralUnavailableException {
        return new QuoteCollateral(tcbInfo(tee, fmspc), qeIdentity(tee), pckCrl(ca), rootCaCrl());
    }

    /** Everything needed for one quote whose PCK chain (with CA certificate {@code verifiedCa}) is verified. */
    default QuoteCollateral collateral(TeeType tee, String fmspc, PckCa ca, X509Certificate verifiedCa)
            throws CollateralUnavailableException {
        return new QuoteCollateral(tcbInfo(tee, fmspc), qeIdentity(tee), pckCrl(ca, verifiedCa), rootCaCrl());
    }

    /**
     * A provider holding one fixed bundle, e.g. collateral shipped with offline evidence. It answers
     * every request with that bundle; verification still rejects a bundle whose FMSPC, TEE type or
     * CA does not match the quote.
     */
    static CollateralProvider fixed(QuoteCollateral c) {
        return new CollateralProvider() {
            @Override
            public SignedCollateral tcbInfo(TeeType tee, String fmspc) {
                return c.tcbInfo();
            }

            @Override
            public SignedCollateral qeIdentity(TeeType tee) {
                return c.qeIdentity();
            }

            @Override
            public PckCrl pckCrl(PckCa ca) {
                return c.pckCrl();
            }

            @Override
            public RootCaCrl rootCaCrl() {
                return c.rootCaCrl();
            }

            @Override
            public QuoteCollateral collateral(TeeType tee, String fmspc, PckCa ca) {
                return c;
            }

            @Override
            public QuoteCollateral collateral(TeeType tee, String fmspc, PckCa ca, X509Certificate verifiedCa) {
                return c;
            }
        };
    }

    /** A provider that has nothing: every quote must then come with its collateral in the request. */
    static CollateralProvider none() {
        return new CollateralProvider() {
            private CollateralUnavailableException missing() {
                return new CollateralUnavailableException(
                        "no collateral source is configured; pass collateral with the request or configure a provider");
            }

            @Override
            public SignedCollateral tcbInfo(TeeType tee, String fmspc) throws CollateralUnavailableException {
                throw missing();
            }

            @Override
            public SignedCollateral qeIdentity(TeeType tee) throws CollateralUnavailableException {
                throw missing();
            }

            @Override
            public PckCrl pckCrl(PckCa ca) throws CollateralUnavailableException {
                throw missing();
            }

            @Override
            public RootCaCrl rootCaCrl() throws CollateralUnavailableException {
                throw missing();
            }
        };
    }
}
