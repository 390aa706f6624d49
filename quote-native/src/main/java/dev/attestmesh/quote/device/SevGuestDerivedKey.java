package dev.attestmesh.quote.device;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;

/**
 * Asks the SEV-SNP firmware for a key derived from the chip's VCEK and the guest's launch measurement
 * (and guest policy), through the Linux {@code sev-guest} driver's {@code SNP_GET_DERIVED_KEY} ioctl
 * ({@code MSG_KEY_REQ} in the SNP firmware ABI; {@code include/uapi/linux/sev-guest.h}):
 *
 * <pre>
 * SNP_GET_DERIVED_KEY = _IOWR('S', 0x1, struct snp_guest_request_ioctl) = 0xC0205301
 * struct snp_derived_key_req {          // 32 bytes
 *   __u32 root_key_select;              //  0: 0 = VCEK, 1 = VMRK
 *   __u32 rsvd;                         //  4
 *   __u64 guest_field_select;           //  8: bit 0 guest policy, 1 image ID, 2 family ID,
 *                                       //     3 measurement, 4 guest SVN, 5 TCB version
 *   __u32 vmpl;                         // 16
 *   __u32 guest_svn;                    // 20
 *   __u64 tcb_version;                  // 24
 * };
 * struct snp_derived_key_resp { __u8 data[64]; };  // MSG_KEY_RSP: status u32, reserved[28], key at 0x20
 * </pre>
 *
 * The same guest image on the same chip always gets the same key; another measurement gets another key,
 * so data sealed with it opens only in a guest launched with the same measurement and policy.
 */
public final class SevGuestDerivedKey {
    /** {@code _IOWR('S', 0x1, struct snp_guest_request_ioctl)}. */
    public static final long SNP_GET_DERIVED_KEY = 0xC0205301L;
    /** Guest policy (bit 0) and measurement (bit 3): the key is bound to the launched image. */
    public static final long FIELDS_POLICY_AND_MEASUREMENT = 0b1001L;
    static final int REQUEST_SIZE = 32;
    static final int RESPONSE_SIZE = 64;
    static final int KEY_OFFSET = 0x20;
    /** Length of the derived key. */
    public static final int KEY_LENGTH = 32;

    private SevGuestDerivedKey() {}

    /**
     * @param device the ioctl layer ({@link LibcIoctlDevice} in production)
     * @param path normally {@link SevGuestIoctlCollector#DEVICE}
     * @param vmpl the VMPL the key is derived for (0..3)
     * @param guestFieldSelect which guest fields are mixed into the key
     * @return the 32-byte derived key
     * @throws EvidenceCollectionException when the device is absent, refuses, or answers with a bad status
     */
    public static byte[] derive(IoctlDevice device, Path path, int vmpl, long guestFieldSelect)
            throws EvidenceCollectionException {
        Objects.requireNonNull(device, "device");
        if (vmpl < 0 || vmpl > 3) {
            throw new IllegalArgumentException("VMPL must be 0..3, got " + vmpl);
        }
        byte[] request = new byte[REQUEST_SIZE];
        ByteBuffer.wrap(request).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 0).putLong(8, guestFieldSelect).putInt(16, vmpl);
        byte[] response = new byte[RESPONSE_SIZE];
        IoctlArgument arg = new IoctlArgument(SevGuestIoctlCollector.IOCTL_STRUCT_SIZE).pointTo(8, request)
                .pointTo(16, response);
        arg.struct()[0] = 1; // msg_version
        try (IoctlDevice.Handle h = device.open(path)) {
            h.ioctl(SNP_GET_DERIVED_KEY, arg);
        } catch (IoctlDevice.IoctlException e) {
            ByteBuffer s = ByteBuffer.wrap(arg.struct()).order(ByteOrder.LITTLE_ENDIAN);
            throw new EvidenceCollectionException("SNP_GET_DERIVED_KEY on " + path + " failed: " + e.getMessage()
                    + String.format(", firmware error 0x%x, VMM error 0x%x", s.getInt(24), s.getInt(28)), e);
        } catch (IOException e) {
            throw new EvidenceCollectionException("cannot use " + path + ": " + e.getMessage(), e);
        }
        int status = ByteBuffer.wrap(response).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
        if (status != 0) {
            throw new EvidenceCollectionException(String.format("SEV firmware refused the derived-key request: status 0x%x",
                    status));
        }
        byte[] key = Arrays.copyOfRange(response, KEY_OFFSET, KEY_OFFSET + KEY_LENGTH);
        Arrays.fill(response, (byte) 0);
        boolean allZero = true;
        for (byte b : key) {
            allZero &= b == 0;
        }
        if (allZero) {
            throw new EvidenceCollectionException("SEV firmware returned an all-zero derived key from " + path);
        }
        return key;
    }
}
