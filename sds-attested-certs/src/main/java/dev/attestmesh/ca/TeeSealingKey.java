package dev.attestmesh.ca;

import java.util.Arrays;
import java.util.Optional;

/**
 * A sealing key that only the TEE can obtain, and which TEE interface gave it. The key material never
 * appears in {@link #toString()} or messages.
 *
 * @param source where the key comes from
 * @param material the raw key (32 bytes for SEV-SNP, 16 for SGX)
 */
public record TeeSealingKey(Source source, byte[] material) {
    /** The TEE interfaces that offer a sealing key, with the id stored in a sealed file and the manifest name. */
    public enum Source {
        /** SEV-SNP {@code SNP_GET_DERIVED_KEY} from the VCEK, guest policy and launch measurement. */
        SEV_SNP_DERIVED(1, "sev-snp-derived-key"),
        /** SGX EGETKEY with the MRENCLAVE policy, read through Gramine's {@code /dev/attestation/keys/_sgx_mrenclave}. */
        SGX_MRENCLAVE(2, "sgx-mrenclave-key");

        private final int id;
        private final String wireName;

        Source(int id, String wireName) {
            this.id = id;
            this.wireName = wireName;
        }

        public int id() {
            return id;
        }

        /** The name the mesh manifest's {@code caKeySealing} uses. */
        public String wireName() {
            return wireName;
        }

        public static Optional<Source> byId(int id) {
            return Arrays.stream(values()).filter(s -> s.id == id).findFirst();
        }
    }

    public TeeSealingKey {
        if (material.length < 16) {
            throw new IllegalArgumentException("a TEE sealing key must be at least 16 bytes, got " + material.length);
        }
        material = material.clone();
    }

    @Override
    public byte[] material() {
        return material.clone();
    }

    @Override
    public String toString() {
        return "TeeSealingKey[" + source.wireName() + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TeeSealingKey k && k.source == source && java.security.MessageDigest.isEqual(k.material, material);
    }

    @Override
    public int hashCode() {
        return source.hashCode();
    }
}
