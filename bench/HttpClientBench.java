import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Compares HTTP clients for davit's hot path: download blobs in parallel and sha256 them while streaming.
 * Usage: java HttpClientBench.java BASE_URL REPO ROUNDS DIGEST...
 * Prints the median wall time per client for fetching all blobs (6 in parallel).
 */
public class HttpClientBench {
    interface Fetcher { long fetch(String url) throws Exception; }

    public static void main(String[] a) throws Exception {
        String base = a[0], repo = a[1];
        int rounds = Integer.parseInt(a[2]);
        List<String> digests = Arrays.asList(a).subList(3, a.length);
        HttpClient jdk = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER).build();
        Fetcher jdkClient = url -> {
            var r = jdk.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofInputStream());
            return drain(r.body());
        };
        Fetcher urlConnection = url -> {
            var c = (HttpURLConnection) URI.create(url).toURL().openConnection();
            try (InputStream in = c.getInputStream()) {
                return drain(in);
            }
        };
        String[] names = {"jdk-httpclient", "httpurlconnection"};
        Fetcher[] fetchers = {jdkClient, urlConnection};
        long[][] times = new long[fetchers.length][rounds];
        for (int r = 0; r < rounds; r++) {
            for (int f = 0; f < fetchers.length; f++) {
                long t0 = System.nanoTime();
                long bytes = 0;
                try (var pool = Executors.newFixedThreadPool(6)) {
                    List<Future<Long>> fs = new ArrayList<>();
                    for (String d : digests) {
                        Fetcher fe = fetchers[f];
                        fs.add(pool.submit(() -> fe.fetch(base + "/v2/" + repo + "/blobs/" + d)));
                    }
                    for (var x : fs) bytes += x.get();
                }
                times[f][r] = System.nanoTime() - t0;
                if (r == 0) System.err.printf("%s: %d bytes%n", names[f], bytes);
            }
        }
        for (int f = 0; f < fetchers.length; f++) {
            long[] t = times[f].clone();
            Arrays.sort(t);
            System.out.printf("%s median_ms=%d%n", names[f], t[t.length / 2] / 1_000_000);
        }
    }

    static long drain(InputStream in) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[1 << 17];
        long total = 0;
        int n;
        try (in) {
            while ((n = in.read(buf)) > 0) { md.update(buf, 0, n); total += n; }
        }
        md.digest();
        return total;
    }
}
