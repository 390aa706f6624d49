package dev.attestmesh.quote;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Locale;

/**
 * The identity of the physical platform that produced verified evidence: what a TEE cannot change by
 * re-attesting under a new node id, so revocation can target it.
 *
 * <p>Its text form ({@link #value()}) is {@code <kind>:<lower-case hex>}: {@code sgx-ppid:<32 hex>} for
 * SGX and TDX (the PPID certified in the PCK certificate), {@code snp-chip:<128 hex>} for SEV-SNP (the
 * report's CHIP_ID), {@code sim:<32 hex>} for the simulated TEE. The value is not secret, but it is a
 * per-machine tracking identifier: it links every attestation of one machine, whatever its node id.
 *
 * @param kind which identifier this is
 * @param id the identifier's bytes, of the length its kind requires
 */
public record PlatformId(Kind kind, byte[] id) {

    /** The kinds of platform identifier, with their text prefix and byte length. */
    public enum Kind {
        /** Intel Platform Provisioning ID from the PCK certificate's SGX extension (SGX and TDX). */
        SGX_PPID("sgx-ppid", 16),
        /** AMD SEV-SNP CHIP_ID from the signed attestation report. */
        SNP_CHIP("snp-chip", 64),
        /** The simulated TEE's per-instance identifier; proves nothing. */
        SIM("sim", 16);

        private final String prefix;
        private final int length;

        Kind(String prefix, int length) {
            this.prefix = prefix;
            this.length = length;
        }

        /** The text prefix before the colon, e.g. {@code sgx-ppid}. */
        public String prefix() {
            return prefix;
        }

        /** The identifier's length in bytes. */
        public int length() {
            return length;
        }
    }

    public PlatformId {
        if (kind == null) {
            throw new IllegalArgumentException("platform id kind is required");
        }
        id = id.clone();
        if (id.length != kind.length) {
            throw new IllegalArgumentException("a " + kind.prefix + " platform id is " + kind.length + " bytes, got "
                    + id.length);
        }
    }

    @Override
    public byte[] id() {
        return id.clone();
    }

    /** The stable text form, {@code <kind>:<lower-case hex>}. */
    public String value() {
        return kind.prefix + ":" + HexFormat.of().formatHex(id);
    }

    /**
     * Parses the text form, for example an operator's revocation target; upper-case hex is accepted and
     * normalised by {@link #value()}.
     *
     * @throws IllegalArgumentException naming the accepted forms when {@code text} is not one
     */
    public static PlatformId parse(String text) {
        int colon = text.indexOf(':');
        String prefix = colon < 0 ? "" : text.substring(0, colon).toLowerCase(Locale.ROOT);
        for (Kind k : Kind.values()) {
            if (k.prefix.equals(prefix)) {
                String hex = text.substring(colon + 1);
                if (hex.length() != 2 * k.length) {
                    throw new IllegalArgumentException("platform id '" + text + "': a " + k.prefix + " id is "
                            + 2 * k.length + " hex digits, got " + hex.length());
                }
                try {
                    return new PlatformId(k, HexFormat.of().parseHex(hex));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("platform id '" + text + "' is not hex after the colon", e);
                }
            }
        }
        throw new IllegalArgumentException("platform id '" + text + "' is not one of sgx-ppid:<32 hex>,"
                + " snp-chip:<128 hex>, sim:<32 hex>");
    }

    /** Equality by kind and identifier bytes. */
    @Override
    public boolean equals(Object o) {
        return o instanceof PlatformId p && kind == p.kind && Arrays.equals(id, p.id);
    }

    @Override
    public int hashCode() {
        return 31 * kind.hashCode() + Arrays.hashCode(id);
    }

    @Override
    public String toString() {
        return value();
    }
}
