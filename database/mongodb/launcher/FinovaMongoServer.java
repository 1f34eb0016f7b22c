import java.io.File;
import java.net.BindException;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;

/**
 * Development/test MongoDB wire server: mongo-java-server with its H2 (MVStore) backend.
 *
 * Usage: java -cp ... FinovaMongoServer --port N (--data-file PATH | --memory)
 *
 * Prints "ready on 127.0.0.1:PORT" on stdout once listening; launcher.py waits for it.
 */
public final class FinovaMongoServer {

    /**
     * The library's built-in versions top out below what current drivers accept
     * (pymongo 4.20 needs wire version >= 9), so we declare MongoDB 7.0 / wire 21.
     * This only changes what hello/buildInfo report; the feature set stays the library's.
     */
    static final class Mongo70 implements MongoVersion {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(7, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 21;
        }
    }

    private static void usage(String problem) {
        System.err.println("FinovaMongoServer: " + problem);
        System.err.println("usage: FinovaMongoServer --port N (--data-file PATH | --memory)");
        System.exit(2);
    }

    public static void main(String[] args) {
        int port = -1;
        String dataFile = null;
        boolean memory = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port":
                    if (++i >= args.length) usage("--port needs a value");
                    try {
                        port = Integer.parseInt(args[i]);
                    } catch (NumberFormatException e) {
                        usage("--port is not a number: " + args[i]);
                    }
                    break;
                case "--data-file":
                    if (++i >= args.length) usage("--data-file needs a value");
                    dataFile = args[i];
                    break;
                case "--memory":
                    memory = true;
                    break;
                default:
                    usage("unknown argument: " + args[i]);
            }
        }
        if (port < 0 || port > 65535) usage("--port N is required (0-65535)");
        if (memory == (dataFile != null)) usage("give exactly one of --data-file PATH or --memory");

        H2Backend backend;
        if (memory) {
            backend = H2Backend.inMemory();
        } else {
            File file = new File(dataFile).getAbsoluteFile();
            File parent = file.getParentFile();
            if (parent != null && !parent.isDirectory() && !parent.mkdirs()) {
                System.err.println("FinovaMongoServer: cannot create directory " + parent);
                System.exit(1);
            }
            // MVStore.open takes an exclusive file lock: a second server on the same
            // file fails here instead of corrupting it.
            backend = new H2Backend(file.getPath());
        }
        backend.version(new Mongo70());

        MongoServer server = new MongoServer(backend);
        try {
            // Loopback only: this server has no authentication.
            server.bind("127.0.0.1", port);
        } catch (Exception e) {
            // Netty rethrows the checked BindException unchecked, hence the broad catch.
            backend.close();
            if (e instanceof BindException || String.valueOf(e.getMessage()).contains("Address already in use")) {
                System.err.println("FinovaMongoServer: port " + port + " on 127.0.0.1 is already in use");
            } else {
                System.err.println("FinovaMongoServer: cannot listen on 127.0.0.1:" + port + ": " + e);
            }
            System.exit(1);
        }

        AtomicBoolean stopped = new AtomicBoolean(false);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            if (!stopped.compareAndSet(false, true)) return;
            // shutdownNow() drops open client connections (pooled drivers keep them
            // open forever) and then runs shutdown(): listener, event loops, backend.
            // Closing the MVStore is what writes the last changes to the file.
            try {
                server.shutdownNow();
            } catch (RuntimeException e) {
                System.err.println("FinovaMongoServer: error during shutdown: " + e);
            }
            try {
                if (!backend.getMvStore().isClosed()) backend.close();
            } catch (RuntimeException e) {
                System.err.println("FinovaMongoServer: error closing store: " + e);
            }
            System.err.println("FinovaMongoServer: stopped");
        }, "finova-mongo-shutdown"));

        System.out.println("ready on 127.0.0.1:" + server.getLocalAddress().getPort());
        System.out.flush();
        // Netty's threads are non-daemon, so main can return and the JVM stays up
        // until SIGTERM/SIGINT runs the hook above.
    }
}
