package dev.davit.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.davit.oci.internal.Json;
import dev.davit.oci.internal.Text;
import dev.davit.oci.reference.Reference;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code davit tags REPO}: the tags of a repository. */
@Command(name = "tags", mixinStandardHelpOptions = true, description = "List the tags of a repository at the registry.")
final class TagsCommand extends DavitCommand {
    @Parameters(paramLabel = "REPO", description = "The repository, e.g. alpine or ghcr.io/owner/repo.")
    String repository;

    @Override
    protected int run(Output out) {
        String name = Reference.parseRepository(repository).repositoryName();
        List<String> tags = client().tags(repository);
        ObjectNode doc = Json.object();
        doc.put("repository", name);
        ArrayNode arr = doc.putArray("tags");
        tags.forEach(arr::add);
        out.result(doc, w -> tags.forEach(t -> w.println(Text.printable(t))));
        return 0;
    }
}
