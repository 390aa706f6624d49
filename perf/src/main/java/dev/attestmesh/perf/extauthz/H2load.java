package dev.attestmesh.perf.extauthz;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
 * counted) either as fast as {@code connections x streams} allow or at a fixed rate ({@code --rps} per connection).
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
     * One load phase.
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
        Path log = workDir.resolve(name.replaceAll("[^A-Za-z0-9._-]", "_") + ".tsv");
        Path out = workDir.resolve(name.replaceAll("[^A-Za-z0-9._-]", "_") + ".out");
        Files.deleteIfExists(log);
        List<String> cmd = new ArrayList<>(List.of(executable.toString(), "-t", "1", "-c", Integer.toString(connections),
                "-m", Integer.toString(streams), "-n", Long.toString(requests), "-d", body.toString(),
                "-H", "content-type: application/grpc", "-H", "te: trailers", "--log-file", log.toString()));
        headers.forEach((k, v) -> cmd.addAll(List.of("-H", k + ": " + v)));
        if (ratePerSecond > 0) {
            cmd.addAll(List.of("--rps", Integer.toString(Math.max(1, ratePerSecond / connections))));
        }
        cmd.add(url);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            p.waitFor(10, TimeUnit.SECONDS);
            throw new IllegalStateException("h2load phase '" + name + "' did not finish within " + timeoutSeconds + " s");
        }
        String text = Files.readString(out, StandardCharsets.UTF_8);
        Matcher m = REQUESTS.matcher(text);
        Matcher st = STATUS.matcher(text);
        if (p.exitValue() != 0 || !m.find() || !st.find()) {
            throw new IllegalStateException("h2load phase '" + name + "' exited " + p.exitValue() + ":\n" + text);
        }
        Histogram latency = new Histogram(60_000_000L, 3); // microseconds, up to 60 s
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        long logged = 0;
        long non2xx = 0;
        for (String line : Files.readAllLines(log, StandardCharsets.US_ASCII)) {
            String[] f = line.split("\t");
            if (f.length < 3) {
                continue;
            }
            long start = Long.parseLong(f[0]);
            int status = Integer.parseInt(f[1]);
            long micros = Long.parseLong(f[2]);
            if (status / 100 != 2) {
                non2xx++;
                continue;
            }
            latency.recordValue(Math.min(micros, latency.getHighestTrackableValue()));
            first = Math.min(first, start);
            last = Math.max(last, start + micros);
            logged++;
        }
        return new Result(name, requests, Long.parseLong(m.group(4)), Long.parseLong(m.group(5))
                + Long.parseLong(m.group(6)) + Long.parseLong(m.group(7)), Long.parseLong(st.group(1)), non2xx, logged,
                latency, first, last, ratePerSecond);
    }

    /**
     * One phase's outcome.
     *
     * @param succeeded h2load's count of responses with a 2xx status
     * @param failed failed + errored + timed out, per h2load
     * @param status2xx h2load's 2xx count
     * @param non2xx log rows with another status (-1: the stream failed)
     * @param logged log rows with a 2xx status (the latencies)
     * @param firstStartMicros first request's start, microseconds since the epoch
     * @param lastEndMicros last response's end, microseconds since the epoch
     * @param targetRate the fixed rate asked for, 0 for as fast as possible
     */
    public record Result(String name, long requests, long succeeded, long failed, long status2xx, long non2xx, long logged,
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
            return succeeded == requests && failed == 0 && non2xx == 0 && logged == requests;
        }
    }
}
