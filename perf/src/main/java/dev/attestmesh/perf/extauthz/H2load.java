package dev.attestmesh.perf.extauthz;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.HdrHistogram.Histogram;

/**
 * h2load (nghttp2's HTTP/2 load generator, Debian {@code nghttp2-client}) as an independent load generator in its own
 * process: gRPC unary calls as HTTP/2 POSTs of one framed request body ({@code -d}) with {@code content-type:
 * application/grpc} and {@code te: trailers}, a fixed count of requests ({@code -n}, so every request is answered and
 * counted) either as fast as {@code connections x streams} allow or at a fixed rate: h2load's own {@code --rps} per
 * connection ({@link #run}, in 10 ms bursts) or paced evenly over one process per 100 requests a second ({@link
 * #runSpread}).
 * Latencies come from its per-request log ({@code --log-file}: start time in microseconds since the epoch, HTTP status,
 * microseconds to the end of the response), so percentiles are exact rather than h2load's own summary.
 *
 * <p>What h2load cannot see: the gRPC status, which travels in the trailers. A "succeeded" request is an HTTP 2xx
 * response, which a gRPC error is too; the harness checks the answers against the server's own count.
 *
 * <p>Latency at a fixed rate is measured from when h2load actually sent the request: if the server stalls and every
 * stream is busy, sends wait and that wait is not in the figure (coordinated omission). With {@code streams} well
 * above rate x latency this does not arise short of a stall; the harness reports h2load's achieved rate so a stall
 * shows as a shortfall.
 */
public final class H2load {
    private static final Pattern REQUESTS = Pattern.compile(
            "requests: (\\d+) total, (\\d+) started, (\\d+) done, (\\d+) succeeded, (\\d+) failed, (\\d+) errored, (\\d+) timeout");
    private static final Pattern STATUS = Pattern.compile("status codes: (\\d+) 2xx, (\\d+) 3xx, (\\d+) 4xx, (\\d+) 5xx");

    private final Path executable;
    private final Path workDir;

    public H2load(Path executable, Path workDir) {
        this.executable = executable;
        this.workDir = workDir;
    }

    /** h2load on the PATH or at /usr/bin/h2load; empty when not installed. */
    public static java.util.Optional<Path> find() {
        for (String dir : (System.getenv().getOrDefault("PATH", "") + ":/usr/bin").split(":")) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, "h2load");
            if (Files.isExecutable(p)) {
                return java.util.Optional.of(p);
            }
        }
        return java.util.Optional.empty();
    }

    /**
     * One load phase from one h2load process.
     *
     * <p>At a fixed rate, h2load releases each connection's requests on a timer whose period is never under 10 ms
     * ({@code max(0.01, 1 / rps)} in nghttp2's h2load), so above 100 requests a second per connection they leave in
     * bursts: at 5,000/s over 2 connections, 25 back-to-back requests per connection every 10 ms, answered together,
     * which makes a "latency at 5,000/s" the time to serve a 25-deep queue. {@link #runSpread} paces evenly instead.
     *
     * @param name label (also names the log files)
     * @param url {@code http://} or {@code https://} address of the gRPC method
     * @param body the gRPC-framed request message
     * @param headers extra request headers (name, value)
     * @param requests how many requests in all
     * @param connections HTTP/2 connections ({@code -c})
     * @param streams concurrent streams per connection ({@code -m})
     * @param ratePerSecond total fixed rate, or 0 for as fast as possible
     * @param env environment for h2load (e.g. {@code OPENSSL_CONF} giving it a client certificate)
     * @param timeoutSeconds the phase is killed after this long
     */
    public Result run(String name, String url, Path body, Map<String, String> headers, long requests, int connections,
            int streams, int ratePerSecond, Map<String, String> env, long timeoutSeconds)
            throws IOException, InterruptedException {
        Launched one = launch(name, url, body, headers, requests, connections, streams,
                ratePerSecond > 0 ? Math.max(1, ratePerSecond / connections) : 0, env);
        return collect(name, requests, ratePerSecond, List.of(one), timeoutSeconds);
    }

    /** Requests a second one paced connection sends: one per tick of h2load's 10 ms rate timer. */
    public static final int SPREAD_PER_CONNECTION = 100;

    /**
     * One phase at {@code ratePerSecond}, paced evenly: {@code ceil(rate / 100)} h2load processes of one connection
     * each, every one at no more than 100 requests a second, so each sends one request per tick of its 10 ms rate
     * timer; their starts are spread over one tick, so the ticks (which start at each connection's set-up) fall at
     * different moments and the requests arrive spread over time, as calls from many Envoy workers do, instead of in
     * bursts ({@link #run}). The processes' logs are merged into one result.
     */
    public Result runSpread(String name, String url, Path body, Map<String, String> headers, long requests, int streams,
            int ratePerSecond, Map<String, String> env, long timeoutSeconds) throws IOException, InterruptedException {
        if (ratePerSecond <= 0) {
            throw new IllegalArgumentException("a spread phase needs a rate, not " + ratePerSecond);
        }
        int processes = (ratePerSecond + SPREAD_PER_CONNECTION - 1) / SPREAD_PER_CONNECTION;
        long gapNanos = TimeUnit.MILLISECONDS.toNanos(10) / processes;
        List<Launched> launched = new ArrayList<>();
        try {
            for (int i = 0; i < processes; i++) {
                long n = requests / processes + (i < requests % processes ? 1 : 0);
                int rps = ratePerSecond / processes + (i < ratePerSecond % processes ? 1 : 0);
                if (n > 0) {
                    launched.add(launch(String.format(java.util.Locale.ROOT, "%s-p%03d", name, i), url, body, headers, n,
                            1, streams, Math.max(1, rps), env));
                }
                java.util.concurrent.locks.LockSupport.parkNanos(gapNanos);
            }
        } catch (IOException | RuntimeException e) {
            launched.forEach(l -> l.process().destroyForcibly());
            throw e;
        }
        return collect(name, requests, ratePerSecond, launched, timeoutSeconds);
    }

    /** A started h2load process, its log and its output. */
    private record Launched(String name, Process process, Path log, Path out) {}

    private Launched launch(String name, String url, Path body, Map<String, String> headers, long requests,
            int connections, int streams, int ratePerConnection, Map<String, String> env) throws IOException {
        Path log = workDir.resolve(name.replaceAll("[^A-Za-z0-9._-]", "_") + ".tsv");
        Path out = workDir.resolve(name.replaceAll("[^A-Za-z0-9._-]", "_") + ".out");
        Files.deleteIfExists(log);
        List<String> cmd = new ArrayList<>(List.of(executable.toString(), "-t", "1", "-c", Integer.toString(connections),
                "-m", Integer.toString(streams), "-n", Long.toString(requests), "-d", body.toString(),
                "-H", "content-type: application/grpc", "-H", "te: trailers", "--log-file", log.toString()));
        headers.forEach((k, v) -> cmd.addAll(List.of("-H", k + ": " + v)));
        if (ratePerConnection > 0) {
            cmd.addAll(List.of("--rps", Integer.toString(ratePerConnection)));
        }
        cmd.add(url);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
        pb.environment().putAll(env);
        return new Launched(name, pb.start(), log, out);
    }

    /** Waits for every process (all killed at the deadline), then merges their counts and logs into one result. */
    private Result collect(String name, long requests, int ratePerSecond, List<Launched> launched, long timeoutSeconds)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        for (Launched l : launched) {
            if (!l.process().waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                for (Launched x : launched) {
                    x.process().destroyForcibly();
                    x.process().waitFor(10, TimeUnit.SECONDS);
                }
                throw new IllegalStateException("h2load phase '" + l.name() + "' did not finish within " + timeoutSeconds
                        + " s");
            }
        }
        long succeeded = 0;
        long failed = 0;
        long status2xx = 0;
        List<long[][]> rows = new ArrayList<>(); // per process: {start, status, micros} per logged request
        for (Launched l : launched) {
            String text = Files.readString(l.out(), StandardCharsets.UTF_8);
            Matcher m = REQUESTS.matcher(text);
            Matcher st = STATUS.matcher(text);
            if (l.process().exitValue() != 0 || !m.find() || !st.find()) {
                throw new IllegalStateException("h2load phase '" + l.name() + "' exited " + l.process().exitValue()
                        + ":\n" + text);
            }
            succeeded += Long.parseLong(m.group(4));
            failed += Long.parseLong(m.group(5)) + Long.parseLong(m.group(6)) + Long.parseLong(m.group(7));
            status2xx += Long.parseLong(st.group(1));
            rows.add(Files.readAllLines(l.log(), StandardCharsets.US_ASCII).stream().map(line -> line.split("\t"))
                    .filter(f -> f.length >= 3)
                    .map(f -> new long[] {Long.parseLong(f[0]), Integer.parseInt(f[1]), Long.parseLong(f[2])})
                    .toArray(long[][]::new));
        }
        return merged(name, requests, ratePerSecond, succeeded, failed, status2xx, rows);
    }

    /**
     * One result from the counts and per-request log rows ({start micros, HTTP status, micros}) of one or more
     * processes. With several, only the window in which every one of them is sending counts (the harness starting the
     * others, on the same cores, is not the server's doing); 2xx rows before or after it are counted apart.
     */
    static Result merged(String name, long requests, int ratePerSecond, long succeeded, long failed, long status2xx,
            List<long[][]> rows) {
        long from = Long.MIN_VALUE;
        long to = Long.MAX_VALUE;
        if (rows.size() > 1) {
            for (long[][] r : rows) {
                if (r.length > 0) {
                    from = Math.max(from, Arrays.stream(r).mapToLong(x -> x[0]).min().orElseThrow());
                    to = Math.min(to, Arrays.stream(r).mapToLong(x -> x[0]).max().orElseThrow());
                }
            }
        }
        Histogram latency = new Histogram(60_000_000L, 3); // microseconds, up to 60 s
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        long logged = 0;
        long non2xx = 0;
        long outside = 0;
        for (long[][] r : rows) {
            for (long[] x : r) {
                long start = x[0];
                long micros = x[2];
                if (x[1] / 100 != 2) {
                    non2xx++;
                } else if (start < from || start > to) {
                    outside++;
                } else {
                    latency.recordValue(Math.min(micros, latency.getHighestTrackableValue()));
                    first = Math.min(first, start);
                    last = Math.max(last, start + micros);
                    logged++;
                }
            }
        }
        return new Result(name, requests, succeeded, failed, status2xx, non2xx, logged, outside, latency, first, last,
                ratePerSecond);
    }

    /**
     * One phase's outcome.
     *
     * @param succeeded h2load's count of responses with a 2xx status
     * @param failed failed + errored + timed out, per h2load
     * @param status2xx h2load's 2xx count
     * @param non2xx log rows with another status (-1: the stream failed)
     * @param logged log rows with a 2xx status (the latencies)
     * @param outsideWindow log rows with a 2xx status sent before every process of a spread phase had started or after
     *     the first had sent its last (not in the latencies or the rate; 0 for one process)
     * @param firstStartMicros first request's start, microseconds since the epoch
     * @param lastEndMicros last response's end, microseconds since the epoch
     * @param targetRate the fixed rate asked for, 0 for as fast as possible
     */
    public record Result(String name, long requests, long succeeded, long failed, long status2xx, long non2xx, long logged,
            long outsideWindow,
            Histogram latencyMicros, long firstStartMicros, long lastEndMicros, int targetRate) {
        public double perSecond() {
            return lastEndMicros > firstStartMicros ? logged * 1e6 / (lastEndMicros - firstStartMicros) : 0;
        }

        public double percentileMs(double p) {
            return latencyMicros.getValueAtPercentile(p) / 1000.0;
        }

        public double maxMs() {
            return latencyMicros.getMaxValue() / 1000.0;
        }

        /** Every request answered with 2xx and logged. */
        public boolean complete() {
            return succeeded == requests && failed == 0 && non2xx == 0 && logged + outsideWindow == requests;
        }
    }
}
