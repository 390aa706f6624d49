package dev.attestmesh.quote.trust;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ECDSA P-256 signing and verification by the system's OpenSSL 3 {@code libcrypto}, called through the
 * JDK's foreign function API (no JNI code of our own, no extra dependency).
 *
 * <p>Why: a P-256 verification with a key seen for the first time (every CSR's key) took 185 us with
 * BouncyCastle and 390 us with SunEC on the build machine, and 72 us here with OpenSSL's assembly for P-256
 * (2026-12-07, JDK 25, OpenSSL 3.0); a signature took 64 us with BouncyCastle and 28 us here. It uses
 * OpenSSL's {@code EC_KEY}/{@code ECDSA_*} functions, which OpenSSL 3 marks deprecated but still exports:
 * its {@code EVP_PKEY} route spends 87 us just decoding a public key, more than the verification.
 *
 * <p>Signing: the private scalar is copied into native memory for one call only (an {@code EC_KEY} made and
 * freed per signature; the native copy is zeroed and OpenSSL clears the key it frees), so no key material
 * stays in native memory. OpenSSL makes the nonce from the private key, the message digest and fresh random
 * bytes ({@code BN_generate_dsa_nonce}, "hedged" nonces): a weak random source alone does not reveal the key,
 * and a repeated message does not repeat the nonce. BouncyCastle's fallback uses deterministic RFC 6979 nonces.
 *
 * <p>Fail closed and fall back: the library is looked up once ({@code libcrypto.so.3}; another name or
 * path with the system property {@value #LIBRARY_PROPERTY}); on load it must verify a known-good
 * signature, reject the same signature over other data, and make a signature that BouncyCastle verifies,
 * or it is not used. {@value #MODE_PROPERTY}{@code =off} (or environment variable {@code
 * ATTESTMESH_NATIVE_CRYPTO=off}) turns it off. Without it, {@link EcdsaP256} signs and verifies with
 * BouncyCastle; either way a verification's answer is the same, which {@code NativeP256Test} checks on
 * valid, tampered, malformed and out-of-range signatures, and every native signature verifies with
 * BouncyCastle. Any native error is a failed verification, or a signature made by BouncyCastle instead.
 * Thread-safe: each call makes and frees its own {@code EC_KEY}, and clears this thread's OpenSSL error
 * queue when it failed.
 */
final class NativeP256 {
    private static final Logger LOG = LoggerFactory.getLogger(NativeP256.class);
    /** System property: {@code auto} (the default) uses OpenSSL when it loads and passes its self-test; {@code off}. */
    static final String MODE_PROPERTY = "attestmesh.native-crypto";
    /** System property: the libcrypto to load instead of {@code libcrypto.so.3} (a name or an absolute path). */
    static final String LIBRARY_PROPERTY = "attestmesh.native-crypto.library";
    private static final List<String> DEFAULT_LIBRARIES = List.of("libcrypto.so.3");
    /** OpenSSL's NID_X9_62_prime256v1. */
    private static final int NID_P256 = 415;
    /** ECDSA_size for P-256: a DER SEQUENCE of two INTEGERs of at most 33 bytes each. */
    private static final int MAX_DER_SIGNATURE = 72;
    /** The order n of P-256's group: a private scalar lies in [1, n-1]. */
    private static final java.math.BigInteger ORDER = new java.math.BigInteger(
            "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16);

    private final MethodHandle ecKeyNew;
    private final MethodHandle ecKeyOct2Key;
    private final MethodHandle ecKeyFree;
    private final MethodHandle ecdsaVerify;
    private final MethodHandle ecKeyOct2Priv;
    private final MethodHandle ecdsaSign;
    private final MethodHandle errClear;
    private final String version;

    private NativeP256(SymbolLookup lib) {
        Linker linker = Linker.nativeLinker();
        ecKeyNew = handle(linker, lib, "EC_KEY_new_by_curve_name", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        ecKeyOct2Key = handle(linker, lib, "EC_KEY_oct2key",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
        ecKeyFree = handle(linker, lib, "EC_KEY_free", FunctionDescriptor.ofVoid(ADDRESS));
        ecdsaVerify = handle(linker, lib, "ECDSA_verify",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS));
        ecKeyOct2Priv = handle(linker, lib, "EC_KEY_oct2priv", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
        ecdsaSign = handle(linker, lib, "ECDSA_sign",
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
        errClear = handle(linker, lib, "ERR_clear_error", FunctionDescriptor.ofVoid());
        MethodHandle versionOf = handle(linker, lib, "OpenSSL_version", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        String v;
        try {
            MemorySegment s = (MemorySegment) versionOf.invokeExact(0);
            v = s.reinterpret(256).getString(0);
        } catch (Throwable t) {
            v = "OpenSSL (version unknown)";
        }
        version = v;
    }

    private static MethodHandle handle(Linker linker, SymbolLookup lib, String name, FunctionDescriptor d) {
        MemorySegment symbol = lib.find(name)
                .orElseThrow(() -> new IllegalStateException("libcrypto has no symbol " + name));
        return linker.downcallHandle(symbol, d);
    }

    /** The verifier in use, or empty when OpenSSL is off, missing or failed its self-test (decided once). */
    static Optional<NativeP256> instance() {
        return Holder.INSTANCE;
    }

    private static final class Holder {
        static final Optional<NativeP256> INSTANCE = load();
    }

    private static Optional<NativeP256> load() {
        String mode = System.getProperty(MODE_PROPERTY, System.getenv().getOrDefault("ATTESTMESH_NATIVE_CRYPTO", "auto"))
                .trim().toLowerCase(Locale.ROOT);
        if (mode.equals("off") || mode.equals("false")) {
            LOG.info("ECDSA P-256 signing and verification: BouncyCastle ({}=off)", MODE_PROPERTY);
            return Optional.empty();
        }
        String configured = System.getProperty(LIBRARY_PROPERTY, "").trim();
        List<String> names = configured.isEmpty() ? DEFAULT_LIBRARIES : List.of(configured);
        String why = "not found";
        for (String name : names) {
            try {
                SymbolLookup lib = SymbolLookup.libraryLookup(name, Arena.global());
                NativeP256 v = new NativeP256(lib);
                Optional<String> failed = selfTest(v);
                if (failed.isPresent()) {
                    why = name + " failed its self-test (" + failed.get() + ")";
                    LOG.warn("ECDSA P-256 signing and verification: not using {}: {}; BouncyCastle instead", name,
                            failed.get());
                    continue;
                }
                LOG.info("ECDSA P-256 signing and verification: {} ({}), self-test passed", v.version, name);
                return Optional.of(v);
            } catch (IllegalArgumentException | IllegalStateException | UnsupportedOperationException e) {
                why = name + ": " + e.getMessage();
            } catch (IllegalCallerException e) {
                why = "native access is not enabled for this module (--enable-native-access): " + e.getMessage();
            }
        }
        LOG.info("ECDSA P-256 signing and verification: BouncyCastle (OpenSSL libcrypto {})", why);
        return Optional.empty();
    }

    /** The library's own version string, e.g. {@code OpenSSL 3.0.19 27 Jan 2026}. */
    String version() {
        return version;
    }

    /**
     * Whether {@code derSignature} is a valid ECDSA signature of {@code digest} (32 bytes) under the P-256
     * point {@code uncompressedPoint} (65 bytes, {@code 04 || x || y}). False on any native error.
     */
    boolean verify(byte[] uncompressedPoint, byte[] digest, byte[] derSignature) {
        if (uncompressedPoint.length != 65 || digest.length != 32 || derSignature.length == 0
                || derSignature.length > 72) {
            return false;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment key = (MemorySegment) ecKeyNew.invokeExact(NID_P256);
            if (key.equals(MemorySegment.NULL)) {
                clearErrors();
                return false;
            }
            int result;
            try {
                MemorySegment point = arena.allocateFrom(JAVA_BYTE, uncompressedPoint);
                int ok = (int) ecKeyOct2Key.invokeExact(key, point, (long) uncompressedPoint.length, MemorySegment.NULL);
                if (ok != 1) {
                    result = -1;
                } else {
                    MemorySegment d = arena.allocateFrom(JAVA_BYTE, digest);
                    MemorySegment s = arena.allocateFrom(JAVA_BYTE, derSignature);
                    result = (int) ecdsaVerify.invokeExact(0, d, digest.length, s, derSignature.length, key);
                }
            } finally {
                ecKeyFree.invokeExact(key);
            }
            if (result != 1) {
                clearErrors(); // a rejected signature leaves entries on this thread's error queue
            }
            return result == 1;
        } catch (Throwable t) {
            return false;
        }
    }

    /**
     * An ECDSA signature (DER, as OpenSSL encodes it: strict, r and s minimal) of {@code digest} (32 bytes) under
     * the P-256 private scalar {@code scalar} (32 bytes, big-endian, in [1, n-1]); empty on any native error.
     */
    Optional<byte[]> sign(byte[] scalar, byte[] digest) {
        if (scalar.length != 32 || digest.length != 32) {
            return Optional.empty();
        }
        java.math.BigInteger k = new java.math.BigInteger(1, scalar);
        if (k.signum() == 0 || k.compareTo(ORDER) >= 0) {
            return Optional.empty(); // not a private key (OpenSSL would sign with 0 all the same)
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment key = (MemorySegment) ecKeyNew.invokeExact(NID_P256);
            if (key.equals(MemorySegment.NULL)) {
                clearErrors();
                return Optional.empty();
            }
            try {
                MemorySegment priv = arena.allocateFrom(JAVA_BYTE, scalar);
                int ok = (int) ecKeyOct2Priv.invokeExact(key, priv, (long) scalar.length);
                priv.fill((byte) 0); // OpenSSL holds its own copy, cleared by EC_KEY_free
                if (ok != 1) {
                    clearErrors();
                    return Optional.empty();
                }
                MemorySegment d = arena.allocateFrom(JAVA_BYTE, digest);
                MemorySegment sig = arena.allocate(MAX_DER_SIGNATURE);
                MemorySegment sigLength = arena.allocate(JAVA_INT);
                sigLength.set(JAVA_INT, 0, MAX_DER_SIGNATURE);
                int signed = (int) ecdsaSign.invokeExact(0, d, digest.length, sig, sigLength, key);
                int length = sigLength.get(JAVA_INT, 0);
                if (signed != 1 || length <= 0 || length > MAX_DER_SIGNATURE) {
                    clearErrors();
                    return Optional.empty();
                }
                return Optional.of(sig.asSlice(0, length).toArray(JAVA_BYTE));
            } finally {
                ecKeyFree.invokeExact(key);
            }
        } catch (Throwable t) {
            return Optional.empty();
        }
    }

    private void clearErrors() {
        try {
            errClear.invokeExact();
        } catch (Throwable ignored) {
            // nothing to do: the queue only grows by what the next failing call adds
        }
    }

    /**
     * The load-time check: a fixed key and signature must verify, and must not over other data; a signature
     * OpenSSL makes with the fixed key must verify with BouncyCastle, and not over other data.
     */
    private static Optional<String> selfTest(NativeP256 v) {
        EcdsaP256.SelfTestVector t = EcdsaP256.selfTestVector();
        if (!v.verify(t.point(), t.digest(), t.signature())) {
            return Optional.of("a valid signature did not verify");
        }
        byte[] other = t.digest().clone();
        other[0] ^= 1;
        if (v.verify(t.point(), other, t.signature())) {
            return Optional.of("a signature verified over the wrong data");
        }
        Optional<byte[]> made = v.sign(t.scalar(), t.digest());
        if (made.isEmpty()) {
            return Optional.of("signing failed");
        }
        if (!EcdsaP256.verifyDigestWithBouncyCastle(t.point(), t.digest(), made.get())
                || EcdsaP256.verifyDigestWithBouncyCastle(t.point(), other, made.get())) {
            return Optional.of("its signature does not verify with BouncyCastle");
        }
        return Optional.empty();
    }
}
