package dev.attestmesh.quote.device;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.Signature;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A TPM 2.0 test double behind {@link TpmDevice}: it unmarshals each command itself (independently of
 * the production marshalling), insists on the exact tags, sizes, handles and password session Azure's
 * vTPM expects, and answers NV_ReadPublic, GetCapability, NV_Read, Quote and PCR_Read as a TPM would,
 * signing quotes with its own RSA-2048 attestation key. PCR_Read returns at most 8 PCRs per call, as real
 * TPMs do. Hooks let a test make it misbehave.
 */
final class FakeTpm implements TpmDevice {
    final KeyPair ak;
    final byte[] nv;
    final byte[][] pcrs = new byte[24][32];
    final List<Integer> commands = new ArrayList<>();
    int nvBufferMax = 1024;
    int closed;
    /** Extend PCR 10 right after each of the first this many quotes (a measurement racing the collector). */
    int extendAfterQuotes;
    int quotes;
    /** A response code to return for this command code, or 0. */
    int failCommand;
    long failCode;
    /** Cut this many bytes off every response. */
    int truncateResponses;
    /** Overrides the quote's extraData when non-null. */
    byte[] quoteExtraData;

    /** One AK shared by the fakes of a test run (RSA key generation is slow). */
    private static final KeyPair SHARED_AK = newAk();

    static KeyPair newAk() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
            g.initialize(2048);
            return g.generateKeyPair();
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    FakeTpm(byte[] nvContents) {
        this(nvContents, SHARED_AK);
    }

    FakeTpm(byte[] nvContents, KeyPair ak) {
        this.ak = ak;
        this.nv = nvContents.clone();
        for (int i = 0; i < 24; i++) {
            Arrays.fill(pcrs[i], (byte) (i + 1));
        }
    }

    @Override
    public Handle open(Path path) throws IOException {
        if (!path.toString().equals("/dev/tpmrm0")) {
            throw new IOException("no such device " + path);
        }
        return new Handle() {
            @Override
            public byte[] transmit(byte[] command) throws IOException {
                byte[] r = answer(ByteBuffer.wrap(command), command.length);
                return truncateResponses > 0 ? Arrays.copyOf(r, Math.max(0, r.length - truncateResponses)) : r;
            }

            @Override
            public void close() {
                closed++;
            }
        };
    }

    private byte[] answer(ByteBuffer c, int length) throws IOException {
        int tag = c.getShort() & 0xffff;
        int size = c.getInt();
        int code = c.getInt();
        commands.add(code);
        check(size == length, "command size field " + size + " != " + length);
        if (code == failCommand) {
            return header(0x8001, 10, failCode);
        }
        try {
            return switch (code) {
                case 0x169 -> { // NV_ReadPublic
                    check(tag == 0x8001, "NV_ReadPublic without sessions");
                    check(c.getInt() == 0x01400001, "NV index");
                    ByteArrayOutputStream pub = new ByteArrayOutputStream();
                    u32(pub, 0x01400001);
                    u16(pub, 0x000B);
                    u32(pub, 0x00060006);
                    u16(pub, 0);
                    u16(pub, nv.length);
                    ByteArrayOutputStream p = new ByteArrayOutputStream();
                    u16(p, pub.size());
                    p.writeBytes(pub.toByteArray());
                    u16(p, 2); // a (truncated) name, not used by the collector
                    p.write(0);
                    p.write(0x0B);
                    yield response(0x8001, p.toByteArray(), false);
                }
                case 0x17A -> { // GetCapability
                    check(c.getInt() == 6 && c.getInt() == 0x12C && c.getInt() == 1, "GetCapability(TPM_PROPERTIES, NV_BUFFER_MAX, 1)");
                    ByteArrayOutputStream p = new ByteArrayOutputStream();
                    p.write(0);
                    u32(p, 6);
                    u32(p, 1);
                    u32(p, 0x12C);
                    u32(p, nvBufferMax);
                    yield response(0x8001, p.toByteArray(), false);
                }
                case 0x14E -> { // NV_Read
                    check(tag == 0x8002, "NV_Read needs a session");
                    check(c.getInt() == 0x40000001, "NV_Read authorized by the owner");
                    check(c.getInt() == 0x01400001, "NV index");
                    passwordSession(c);
                    int n = c.getShort() & 0xffff;
                    int off = c.getShort() & 0xffff;
                    check(!c.hasRemaining(), "NV_Read trailing bytes");
                    if (n > nvBufferMax || off + n > nv.length) {
                        yield header(0x8001, 10, 0x15D); // TPM_RC_NV_RANGE
                    }
                    ByteArrayOutputStream p = new ByteArrayOutputStream();
                    u16(p, n);
                    p.write(nv, off, n);
                    yield response(0x8002, p.toByteArray(), true);
                }
                case 0x158 -> { // Quote
                    check(tag == 0x8002, "Quote needs a session");
                    check(c.getInt() == 0x81000003, "Quote by the AK handle");
                    passwordSession(c);
                    byte[] qualifying = new byte[c.getShort() & 0xffff];
                    c.get(qualifying);
                    check((c.getShort() & 0xffff) == 0x0010, "inScheme TPM_ALG_NULL");
                    List<Integer> selected = selection(c);
                    check(!c.hasRemaining(), "Quote trailing bytes");
                    quotes++;
                    ByteArrayOutputStream a = new ByteArrayOutputStream();
                    u32(a, 0xff544347);
                    u16(a, 0x8018);
                    u16(a, 34);
                    u16(a, 0x000B);
                    a.writeBytes(new byte[32]);
                    byte[] extra = quoteExtraData != null ? quoteExtraData : qualifying;
                    u16(a, extra.length);
                    a.writeBytes(extra);
                    a.writeBytes(new byte[8 + 4 + 4]);
                    a.write(1);
                    a.writeBytes(new byte[8]);
                    u32(a, 1);
                    u16(a, 0x000B);
                    a.write(3);
                    a.writeBytes(bitmap(selected));
                    MessageDigest d = MessageDigest.getInstance("SHA-256");
                    selected.forEach(i -> d.update(pcrs[i]));
                    u16(a, 32);
                    a.writeBytes(d.digest());
                    byte[] attest = a.toByteArray();
                    Signature s = Signature.getInstance("SHA256withRSA");
                    s.initSign(ak.getPrivate());
                    s.update(attest);
                    byte[] sig = s.sign();
                    if (quotes <= extendAfterQuotes) {
                        pcrs[10][0]++;
                    }
                    ByteArrayOutputStream p = new ByteArrayOutputStream();
                    u16(p, attest.length);
                    p.writeBytes(attest);
                    u16(p, 0x0014);
                    u16(p, 0x000B);
                    u16(p, sig.length);
                    p.writeBytes(sig);
                    yield response(0x8002, p.toByteArray(), true);
                }
                case 0x17E -> { // PCR_Read: at most 8 per call
                    check(tag == 0x8001, "PCR_Read without sessions");
                    List<Integer> asked = selection(c);
                    check(!c.hasRemaining(), "PCR_Read trailing bytes");
                    List<Integer> given = asked.subList(0, Math.min(8, asked.size()));
                    ByteArrayOutputStream p = new ByteArrayOutputStream();
                    u32(p, 7);
                    u32(p, 1);
                    u16(p, 0x000B);
                    p.write(3);
                    p.writeBytes(bitmap(given));
                    u32(p, given.size());
                    for (int i : given) {
                        u16(p, 32);
                        p.writeBytes(pcrs[i]);
                    }
                    yield response(0x8001, p.toByteArray(), false);
                }
                default -> header(0x8001, 10, 0x143); // TPM_RC_COMMAND_CODE
            };
        } catch (java.nio.BufferUnderflowException | java.security.GeneralSecurityException e) {
            throw new IOException("fake TPM: malformed command 0x" + Integer.toHexString(code) + ": " + e, e);
        }
    }

    private static List<Integer> selection(ByteBuffer c) throws IOException {
        check(c.getInt() == 1, "one PCR bank");
        check((c.getShort() & 0xffff) == 0x000B, "SHA-256 bank");
        int n = c.get() & 0xff;
        check(n == 3, "sizeofSelect 3");
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            if ((c.get(c.position() + i / 8) >> (i % 8) & 1) != 0) {
                out.add(i);
            }
        }
        c.position(c.position() + 3);
        return out;
    }

    private static byte[] bitmap(List<Integer> pcrs) {
        byte[] b = new byte[3];
        pcrs.forEach(i -> b[i / 8] |= (byte) (1 << (i % 8)));
        return b;
    }

    private static void passwordSession(ByteBuffer c) throws IOException {
        check(c.getInt() == 9, "authorization size 9");
        check(c.getInt() == 0x40000009, "TPM_RS_PW session");
        check(c.getShort() == 0 && c.get() == 0 && c.getShort() == 0, "empty nonce, attributes and password");
    }

    private static void check(boolean ok, String what) throws IOException {
        if (!ok) {
            throw new IOException("fake TPM: unexpected command: " + what);
        }
    }

    private static byte[] response(int tag, byte[] params, boolean sessions) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int size = 10 + (sessions ? 4 : 0) + params.length + (sessions ? 5 : 0);
        out.writeBytes(header(tag, size, 0));
        if (sessions) {
            u32(out, params.length);
        }
        out.writeBytes(params);
        if (sessions) {
            out.writeBytes(new byte[] {0, 0, 1, 0, 0}); // TPMS_AUTH_RESPONSE: nonce, attributes, hmac
        }
        return out.toByteArray();
    }

    private static byte[] header(int tag, int size, long rc) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        u16(out, tag);
        u32(out, size);
        u32(out, rc);
        return out.toByteArray();
    }

    private static void u16(ByteArrayOutputStream o, int v) {
        o.write(v >>> 8);
        o.write(v);
    }

    private static void u32(ByteArrayOutputStream o, long v) {
        o.write((int) (v >>> 24));
        o.write((int) (v >>> 16));
        o.write((int) (v >>> 8));
        o.write((int) v);
    }
}
