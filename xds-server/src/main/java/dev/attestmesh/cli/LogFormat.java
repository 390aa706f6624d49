package dev.attestmesh.cli;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.joran.spi.JoranException;
import java.net.URL;
import java.util.Arrays;
import java.util.Locale;
import org.slf4j.ILoggerFactory;
import org.slf4j.LoggerFactory;

/**
 * The format of the log lines of {@code attestmesh server} and {@code attestmesh authz}: {@code text} (one line
 * per event, {@code 2025-07-19T10:01:17.123Z INFO  logger - message}) or {@code json} (one JSON object per line,
 * with an ISO-8601 {@code @timestamp}), for log pipelines that parse rather than grep. Both carry the date, time and
 * UTC offset on every line.
 *
 * <p>Logback reads {@code ATTESTMESH_LOG_FORMAT} itself when it starts, so the first lines already have the chosen
 * format; the command-line option (which defaults from the same variable) is applied by {@link #apply()}, which
 * reloads the application's {@code logback.xml} with the chosen value.
 */
public enum LogFormat {
    TEXT, JSON;

    /** The value as written on the command line and in {@code ATTESTMESH_LOG_FORMAT}. */
    public String value() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * {@code text} or {@code json} (any case).
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static LogFormat parse(String s) {
        for (LogFormat f : values()) {
            if (f.value().equalsIgnoreCase(s.strip())) {
                return f;
            }
        }
        throw new IllegalArgumentException("--log-format must be one of " + Arrays.stream(values())
                .map(LogFormat::value).toList() + ", not '" + dev.attestmesh.input.UntrustedText.forLog(s, 32) + "'");
    }

    /**
     * Reconfigures Logback from the application's {@code logback.xml} with this format. Does nothing when another
     * slf4j binding is in use (the binding then decides the format).
     */
    public void apply() {
        ILoggerFactory factory = LoggerFactory.getILoggerFactory();
        if (!(factory instanceof LoggerContext context)) {
            return;
        }
        URL config = LogFormat.class.getResource("/logback.xml");
        if (config == null) {
            throw new IllegalStateException("logback.xml is missing from the class path");
        }
        context.reset();
        context.putProperty("ATTESTMESH_LOG_FORMAT", value());
        JoranConfigurator configurator = new JoranConfigurator();
        configurator.setContext(context);
        try {
            configurator.doConfigure(config);
        } catch (JoranException e) {
            throw new IllegalStateException("cannot apply the " + value() + " log format: " + e.getMessage(), e);
        }
    }
}
