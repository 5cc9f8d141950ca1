// A stock embedded Tomcat 10.1 that records every servlet dispatch: the REST server of the Tomcat differential test.
//
// Protocol on stdout (one line each, ASCII only):
//   CONNECTOR {...}      the effective connector settings that decide path handling (informational)
//   LISTENING <port>     once, when the connector is bound on 127.0.0.1:<port>
//   DISPATCH {...}       before a request is answered: {"context","servletPath","pathInfo","requestURI","method"}
//   SYNCED <token>       in answer to "SYNC <token>" on stdin: every DISPATCH printed before it has been written
// It exits when stdin closes, so it dies with the process that started it.
//
// Contexts: "/netbackup" and ROOT (""), each with one recording servlet mapped to "/*" and "/".
// The connector keeps Tomcat's defaults (allowBackslash, encodedSolidusHandling, ... untouched) so the
// test sees what a real NetBackup nbwmc would see. No JSP, no web.xml, no jar scanning, no access log.

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.logging.Level;
import java.util.logging.Logger;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.coyote.ProtocolHandler;
import org.apache.coyote.http11.AbstractHttp11Protocol;
import org.apache.tomcat.util.scan.StandardJarScanner;

public final class RecordingTomcat {
    /** Our own stdout: autoflush, ASCII lines, one println at a time. */
    private static final PrintStream OUT =
        new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.US_ASCII);

    private RecordingTomcat() {}

    /** Answers every request with where Tomcat dispatched it, after printing that as a DISPATCH line. */
    public static final class RecordingServlet extends HttpServlet {
        private static final long serialVersionUID = 1L;

        @Override
        protected void service(HttpServletRequest req, HttpServletResponse res) throws IOException {
            String json = "{\"context\":" + str(req.getContextPath())
                + ",\"servletPath\":" + str(req.getServletPath())
                + ",\"pathInfo\":" + str(req.getPathInfo())
                + ",\"requestURI\":" + str(req.getRequestURI())
                + ",\"method\":" + str(req.getMethod()) + "}";
            line("DISPATCH " + json);
            byte[] body = json.getBytes(StandardCharsets.UTF_8);
            res.setStatus(200);
            res.setContentType("application/json");
            res.setCharacterEncoding("UTF-8");
            res.setContentLength(body.length);
            if (!"HEAD".equals(req.getMethod())) res.getOutputStream().write(body);
        }
    }

    /** A JSON string literal (or null), pure ASCII: everything outside printable ASCII as a \\u escape. */
    static String str(String s) {
        if (s == null) return "null";
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    /** Removes Tomcat's scratch base directory (work/, docroot/) on the way out, SIGTERM included. */
    static void deleteTree(File f) {
        File[] children = f.listFiles();
        if (children != null) for (File c : children) deleteTree(c);
        f.delete();
    }

    static void line(String s) {
        synchronized (OUT) {
            OUT.println(s);
            OUT.flush();
        }
    }

    /** A context with no web.xml, no scanning, the recording servlet on "/*" and "/". */
    static Context addRecordingContext(Tomcat tomcat, String path, File docBase) {
        Context ctx = tomcat.addContext(path, docBase.getAbsolutePath());
        StandardJarScanner scanner = new StandardJarScanner();
        scanner.setScanClassPath(false);
        scanner.setScanManifest(false);
        scanner.setScanAllDirectories(false);
        scanner.setScanAllFiles(false);
        ctx.setJarScanner(scanner);
        Tomcat.addServlet(ctx, "record", new RecordingServlet());
        ctx.addServletMapping("/*", "record");
        ctx.addServletMapping("/", "record");
        return ctx;
    }

    public static void main(String[] args) {
        try {
            run();
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
    }

    static void run() throws Exception {
        // Quiet: warnings and errors only, on stderr (java.util.logging's console handler).
        Logger root = Logger.getLogger("");
        root.setLevel(Level.WARNING);
        for (var h : root.getHandlers()) h.setLevel(Level.WARNING);

        File base = Files.createTempDirectory("recording-tomcat").toFile();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(base)));
        File docBase = new File(base, "docroot");
        if (!docBase.mkdirs() && !docBase.isDirectory()) throw new IOException("cannot create " + docBase);

        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(base.getAbsolutePath());
        tomcat.setHostname("127.0.0.1");
        tomcat.getServer().setPort(-1); // no shutdown port

        Connector connector = new Connector(); // "HTTP/1.1": Http11NioProtocol, every setting at its default
        connector.setPort(0);
        connector.setProperty("address", "127.0.0.1");
        tomcat.getService().addConnector(connector);
        tomcat.setConnector(connector);

        tomcat.getHost().setAutoDeploy(false);
        tomcat.getHost().setDeployOnStartup(false);
        addRecordingContext(tomcat, "/netbackup", docBase);
        addRecordingContext(tomcat, "", docBase);
        // Embedded Tomcat adds no AccessLogValve, so there is no access log.

        tomcat.start();
        int port = connector.getLocalPort();
        if (port <= 0) {
            System.err.println("connector did not bind (state " + connector.getStateName() + ")");
            System.exit(1);
        }
        ProtocolHandler ph = connector.getProtocolHandler();
        if (ph instanceof AbstractHttp11Protocol<?> p) {
            line("CONNECTOR {\"server\":" + str(org.apache.catalina.util.ServerInfo.getServerNumber())
                + ",\"protocol\":" + str(p.getClass().getName())
                + ",\"allowBackslash\":" + connector.getAllowBackslash()
                + ",\"encodedSolidusHandling\":" + str(connector.getEncodedSolidusHandling())
                + ",\"encodedReverseSolidusHandling\":" + str(connector.getEncodedReverseSolidusHandling())
                + ",\"rejectSuspiciousURIs\":" + connector.getRejectSuspiciousURIs()
                + ",\"relaxedPathChars\":" + str(p.getRelaxedPathChars())
                + ",\"uriEncoding\":" + str(connector.getURIEncoding()) + "}");
        }
        line("LISTENING " + port);

        // Until stdin closes: answer SYNC barriers, ignore anything else.
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        for (String cmd; (cmd = in.readLine()) != null; ) {
            if (cmd.startsWith("SYNC ")) line("SYNCED " + cmd.substring(5).trim());
        }
        // No orderly stop: it only adds leak-detection warnings; the OS releases the socket.
        System.exit(0);
    }
}
