package dev.davit.k8s;

import io.fabric8.kubernetes.client.http.BasicBuilder;
import io.fabric8.kubernetes.client.http.HttpRequest;
import io.fabric8.kubernetes.client.http.Interceptor;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * The requests this process sent the API server, by verb and resource ({@code GET pods}, {@code LIST pods},
 * {@code WATCH pods}, {@code POST pods/exec}), each try of a retried one counted: what davit costs the cluster, told
 * apart from what its controllers, kubelets and scheduler cost it (the API server's own counts hold them all).
 */
final class RequestCount implements Interceptor {
    private final ConcurrentHashMap<String, LongAdder> counts = new ConcurrentHashMap<>();

    @Override
    public void before(BasicBuilder builder, HttpRequest request, RequestTags tags) {
        counts.computeIfAbsent(key(request.method(), request.uri()), k -> new LongAdder()).increment();
    }

    /** The counts so far. */
    Map<String, Long> snapshot() {
        Map<String, Long> m = new TreeMap<>();
        counts.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }

    /**
     * {@code VERB resource[/subresource]} of a request, as the API server's metrics name it: a GET of a collection
     * is a LIST, one with {@code watch=true} a WATCH.
     */
    static String key(String method, java.net.URI uri) {
        String[] p = uri.getPath().split("/");
        // /api/v1/[namespaces/NS/]RESOURCE[/NAME[/SUB]] or /apis/GROUP/VERSION/[namespaces/NS/]RESOURCE[/NAME[/SUB]]
        int i = p.length > 1 && p[1].equals("apis") ? 4 : 3;
        if (p.length > i + 1 && p[i].equals("namespaces")) {
            i += 2;
        }
        if (p.length <= i) {
            return method + " " + uri.getPath();
        }
        String resource = p[i];
        boolean named = p.length > i + 1;
        String sub = p.length > i + 2 ? "/" + p[i + 2] : "";
        String query = uri.getRawQuery() == null ? "" : uri.getRawQuery();
        String verb = method.equals("GET") && query.contains("watch=true") ? "WATCH"
                : method.equals("GET") && !named ? "LIST" : method;
        return verb + " " + resource + sub;
    }
}
