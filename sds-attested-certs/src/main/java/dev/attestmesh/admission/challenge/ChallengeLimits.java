package dev.attestmesh.admission.challenge;

/**
 * How much unauthenticated and renewal traffic the {@code Challenge} RPC accepts. Challenges are free to
 * ask for, so without bounds anonymous callers could hold every nonce and stop renewals (the mesh would
 * go dark within one certificate lifetime). Two lanes, each with its own capacity:
 * <ul>
 *   <li><b>anonymous</b> (no node certificate for the node id asked about): a token bucket per peer
 *       address ({@link #peerRate}/{@link #peerBurst}) and one for all anonymous callers
 *       ({@link #rate}/{@link #burst}); at most {@link #perPeer} outstanding nonces per peer address and
 *       {@link #maxOutstanding} in all;</li>
 *   <li><b>renewal</b> (mTLS with the node's current certificate): a token bucket per node id
 *       ({@link #renewalRate}/{@link #renewalBurst}) and a reserved capacity of {@link #renewalReserve}
 *       outstanding nonces that anonymous traffic never touches.</li>
 * </ul>
 * In both lanes a node id holds at most {@link #perNode} nonces; a new Challenge beyond that evicts the
 * node id's oldest. Every field is a configuration key {@code attestmesh.challenge.*}
 * (docs/protocol.md, "Challenge limits"); the constructor refuses values outside their ranges, naming the
 * key.
 *
 * @param perNode outstanding nonces per node id and lane ({@code max-per-node}, 1..64)
 * @param perPeer outstanding anonymous nonces per peer address ({@code max-per-peer})
 * @param maxOutstanding outstanding anonymous nonces in all ({@code max-outstanding})
 * @param renewalReserve outstanding renewal nonces in all ({@code renewal-reserve})
 * @param peerRate anonymous Challenges per second per peer address ({@code peer-rate})
 * @param peerBurst anonymous Challenges a peer address may make at once ({@code peer-burst})
 * @param rate anonymous Challenges per second from all peers ({@code rate})
 * @param burst anonymous Challenges from all peers at once ({@code burst})
 * @param renewalRate renewal Challenges per second per node id ({@code renewal-rate})
 * @param renewalBurst renewal Challenges a node id may make at once ({@code renewal-burst})
 */
public record ChallengeLimits(int perNode, int perPeer, int maxOutstanding, int renewalReserve, double peerRate,
        int peerBurst, double rate, int burst, double renewalRate, int renewalBurst) {
    /** Prefix of the configuration keys. */
    public static final String PREFIX = "attestmesh.challenge.";
    public static final String PER_NODE = PREFIX + "max-per-node";
    public static final String PER_PEER = PREFIX + "max-per-peer";
    public static final String MAX_OUTSTANDING = PREFIX + "max-outstanding";
    public static final String RENEWAL_RESERVE = PREFIX + "renewal-reserve";
    public static final String PEER_RATE = PREFIX + "peer-rate";
    public static final String PEER_BURST = PREFIX + "peer-burst";
    public static final String RATE = PREFIX + "rate";
    public static final String BURST = PREFIX + "burst";
    public static final String RENEWAL_RATE = PREFIX + "renewal-rate";
    public static final String RENEWAL_BURST = PREFIX + "renewal-burst";

    /** Largest count or burst accepted: far above any mesh, small enough to keep memory bounded. */
    public static final int MAX_COUNT = 10_000_000;
    /** Largest rate accepted, per second. */
    public static final double MAX_RATE = 1_000_000_000d;

    /**
     * Production defaults: 4 nonces per node id; per peer address 50 Challenges/s (bursts of 200) and 256
     * outstanding; 2,000 anonymous Challenges/s in all (bursts of 4,000) and 100,000 outstanding; renewals
     * 1/s per node id (bursts of 10) with 100,000 reserved.
     */
    public static final ChallengeLimits DEFAULTS = new ChallengeLimits(4, 256, 100_000, 100_000, 50, 200, 2_000,
            4_000, 1, 10);

    public ChallengeLimits {
        requireCount(PER_NODE, perNode, 64);
        requireCount(PER_PEER, perPeer, MAX_COUNT);
        requireCount(MAX_OUTSTANDING, maxOutstanding, MAX_COUNT);
        requireCount(RENEWAL_RESERVE, renewalReserve, MAX_COUNT);
        requireRate(PEER_RATE, peerRate);
        requireCount(PEER_BURST, peerBurst, MAX_COUNT);
        requireRate(RATE, rate);
        requireCount(BURST, burst, MAX_COUNT);
        requireRate(RENEWAL_RATE, renewalRate);
        requireCount(RENEWAL_BURST, renewalBurst, MAX_COUNT);
    }

    /**
     * These limits with the rate limits lifted (caps kept): for load harnesses and tests that attest
     * thousands of nodes a second from one loopback address.
     */
    public ChallengeLimits withoutRateLimits() {
        return new ChallengeLimits(perNode, perPeer, maxOutstanding, renewalReserve, MAX_RATE, MAX_COUNT, MAX_RATE,
                MAX_COUNT, MAX_RATE, MAX_COUNT);
    }

    private static void requireCount(String key, int value, int max) {
        if (value < 1 || value > max) {
            throw new IllegalArgumentException(key + " must be between 1 and " + max + ", got " + value);
        }
    }

    private static void requireRate(String key, double value) {
        if (!(value > 0) || value > MAX_RATE) { // also refuses NaN
            throw new IllegalArgumentException(key + " must be a rate per second above 0 and at most "
                    + (long) MAX_RATE + ", got " + value);
        }
    }
}
