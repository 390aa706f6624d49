package dev.attestmesh.server.attest;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Optional;

/**
 * The key under which Challenge limits count a caller's address: the IPv4 address, or the /64 prefix of an
 * IPv6 address (one host commonly holds a whole /64, so counting single IPv6 addresses would let one
 * attacker look like 2^64 peers). The port is ignored: every new connection gets a new one. Keys are at
 * most 43 characters.
 */
final class PeerAddressKey {
    /** The key for calls whose transport reports no IP address (in-process transports, Unix sockets). */
    static final String LOCAL = "local";

    private PeerAddressKey() {}

    static String of(Optional<SocketAddress> remote) {
        if (remote.isEmpty() || !(remote.get() instanceof InetSocketAddress inet) || inet.getAddress() == null) {
            return LOCAL;
        }
        return of(inet.getAddress());
    }

    static String of(InetAddress address) {
        if (address instanceof Inet4Address v4) {
            return v4.getHostAddress();
        }
        if (address instanceof Inet6Address v6) {
            byte[] b = v6.getAddress();
            StringBuilder s = new StringBuilder(24);
            for (int i = 0; i < 8; i += 2) {
                s.append(Integer.toHexString(((b[i] & 0xff) << 8) | (b[i + 1] & 0xff))).append(':');
            }
            return s.append(":/64").toString(); // e.g. 2001:db8:0:1::/64
        }
        return LOCAL;
    }
}
